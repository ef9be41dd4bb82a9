//! Surface group names: OpenFOAM-safe words, unique within a surface, and never the name
//! of a patch the case generates around the body.
//!
//! Naming is linear in the number of groups: a file with 100,000 solids all called
//! `part` once took quadratic time because every duplicate restarted its suffix search.

use std::collections::{HashMap, HashSet};

/// Names of the patches FlowCFD generates itself: the wind tunnel's faces (external flow),
/// the moving ground, the background box of internal flows, and 2D mode's `empty` front and
/// back (with `symFront`/`symBack`, their names while snappyHexMesh runs). A surface group with one
/// of these names would clash with them, so healing renames it (see [`rename_reserved`]).
pub const RESERVED_GROUP_NAMES: &[&str] =
    &["inlet", "outlet", "sides", "top", "bottom", "ground", "background", "front", "back", "symFront", "symBack"];

/// The prefix a reserved group name gets (`bottom` becomes `body_bottom`).
pub const RENAME_PREFIX: &str = "body_";

/// Turns any group name into an OpenFOAM-safe word: keeps `[A-Za-z0-9_.-]`, replaces
/// every other character by `_`, collapses runs of `_`, prefixes `g_` when the first
/// character is not a letter or `_`, and returns `group` for an empty name.
pub fn sanitize_group_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for ch in raw.trim().chars() {
        let c = if ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-') { ch } else { '_' };
        // Collapsing keeps names like "frt-fairing:001%1" readable (frt-fairing_001_1).
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    match out.chars().next() {
        None => "group".to_string(),
        Some(c) if c.is_ascii_alphabetic() || c == '_' => out,
        Some(_) => format!("g_{out}"),
    }
}

/// Allocates sanitized, unique group names for readers.
#[derive(Default)]
pub(crate) struct GroupNames {
    names: Vec<String>,
    taken: HashSet<String>,
    /// The next suffix to try for each base name, so duplicates never rescan `_2`, `_3`, ….
    next: HashMap<String, u64>,
    /// Names looked up in `taken` (to test that naming stays linear).
    pub(crate) probes: usize,
}

impl GroupNames {
    /// Adds a new group named after `raw` (suffixed `_2`, `_3`, … if taken); returns its index.
    pub(crate) fn add(&mut self, raw: &str) -> u32 {
        let name = self.unique(sanitize_group_name(raw));
        self.names.push(name);
        (self.names.len() - 1) as u32
    }

    /// `base` itself if free, else `base_k` for the smallest `k >= 2` not yet tried for
    /// this base and not taken; the name is marked as taken.
    fn unique(&mut self, base: String) -> String {
        self.probes += 1;
        if self.taken.insert(base.clone()) {
            return base;
        }
        let k = self.next.entry(base.clone()).or_insert(2);
        loop {
            let name = format!("{base}_{k}");
            *k += 1;
            self.probes += 1;
            // A name taken by another base ("a_3" given explicitly) is skipped once: the
            // counter only moves forward, so the total work stays linear.
            if self.taken.insert(name.clone()) {
                return name;
            }
        }
    }

    /// The names in index order.
    pub(crate) fn into_names(self) -> Vec<String> {
        self.names
    }
}

/// One group renamed because its name is reserved: `from` is the user's name (the label
/// the interface shows), `to` the surface group's name in the case.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GroupRename {
    /// The name in the file (sanitized).
    pub from: String,
    /// The name in the surface and the case.
    pub to: String,
}

/// Renames groups whose names are [`RESERVED_GROUP_NAMES`] to `body_<name>` (with a
/// suffix if that is taken too), keeping the others; returns what was renamed.
pub fn rename_reserved(groups: &mut [String]) -> Vec<GroupRename> {
    if !groups.iter().any(|g| is_reserved(g)) {
        return Vec::new();
    }
    let mut names = GroupNames::default();
    for g in groups.iter().filter(|g| !is_reserved(g)) {
        names.taken.insert(g.clone());
    }
    let mut renamed = Vec::new();
    for g in groups.iter_mut().filter(|g| is_reserved(g)) {
        let to = names.unique(format!("{RENAME_PREFIX}{g}"));
        renamed.push(GroupRename { from: std::mem::replace(g, to.clone()), to });
    }
    renamed
}

/// Whether `name` is one of the [`RESERVED_GROUP_NAMES`] (case-sensitive, as OpenFOAM is).
pub fn is_reserved(name: &str) -> bool {
    RESERVED_GROUP_NAMES.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_examples() {
        assert_eq!(sanitize_group_name("frt-fairing:001%1"), "frt-fairing_001_1");
        assert_eq!(sanitize_group_name("my  part!!"), "my_part_");
        assert_eq!(sanitize_group_name("1abc"), "g_1abc");
        assert_eq!(sanitize_group_name(".x"), "g_.x");
        assert_eq!(sanitize_group_name(""), "group");
        assert_eq!(sanitize_group_name("   "), "group");
        assert_eq!(sanitize_group_name("_ok"), "_ok");
        assert_eq!(sanitize_group_name("wing\u{e9}"), "wing_");
    }

    #[test]
    fn unique_names() {
        let mut g = GroupNames::default();
        assert_eq!(g.add("a"), 0);
        g.add("a");
        g.add("a:");
        g.add("a");
        g.add("a_4");
        g.add("a");
        assert_eq!(g.into_names(), vec!["a", "a_2", "a_", "a_3", "a_4", "a_5"]);
    }

    /// 100,000 solids with one name: each takes a constant number of lookups. The old
    /// loop restarted at `_2` for every duplicate, about 5·10⁹ lookups here (minutes).
    #[test]
    fn naming_100k_duplicates_is_linear() {
        let n = 100_000;
        let mut g = GroupNames::default();
        let t = std::time::Instant::now();
        for _ in 0..n {
            g.add("part");
        }
        assert!(g.probes <= 2 * n, "{} lookups for {n} names", g.probes);
        // Generous: linear naming takes well under a second even in a debug build.
        assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
        let names = g.into_names();
        assert_eq!(names[n - 1], format!("part_{n}"));
        assert_eq!(names.iter().collect::<HashSet<_>>().len(), n);
    }

    #[test]
    fn reserved_names_are_renamed_uniquely() {
        let mut groups: Vec<String> = ["bottom", "wing", "body_inlet", "inlet", "Top"].map(String::from).into();
        let r = rename_reserved(&mut groups);
        assert_eq!(groups, vec!["body_bottom", "wing", "body_inlet", "body_inlet_2", "Top"]);
        assert_eq!(
            r,
            vec![
                GroupRename { from: "bottom".into(), to: "body_bottom".into() },
                GroupRename { from: "inlet".into(), to: "body_inlet_2".into() },
            ]
        );
        let mut plain = vec!["wing".to_string()];
        assert!(rename_reserved(&mut plain).is_empty());
    }
}
