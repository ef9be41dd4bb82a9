//! Shell quoting: the only way text reaches the cluster's shell. Every remote command line
//! is built from words by [`command`] (or [`quote`] for one word), so no path, job name or
//! configured value is ever read by the shell as anything but one word.

/// Quotes one word for a POSIX shell: as it is when it is made only of characters no shell
/// treats specially, otherwise in single quotes (a `'` inside becomes `'\''`). NUL cannot
/// be passed to a shell at all and is dropped.
pub fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars().filter(|&c| c != '\0') {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// A command line from words, each quoted.
pub fn command(words: &[&str]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_leaves_plain_words_and_wraps_everything_else() {
        assert_eq!(quote("flowcfd-jobs/abc_1.2"), "flowcfd-jobs/abc_1.2");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("-rf"), "-rf");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(quote("a\nb"), "'a\nb'");
        assert_eq!(quote("x\0y"), "'xy'");
    }

    #[test]
    fn quoted_words_reach_a_real_shell_unchanged() {
        let words =
            ["plain", "with space", "it's", "$HOME", "`id`", "$(id)", "a;b", "*", "\\", "\"q\"", "!x", "\ttab", "ü"];
        let line = format!("printf '%s\\n' {}", command(&words));
        let out = std::process::Command::new("sh").arg("-c").arg(&line).output().unwrap();
        let got: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect();
        assert_eq!(got, words.iter().map(|w| w.to_string()).collect::<Vec<_>>());
    }
}
