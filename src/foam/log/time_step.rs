//! The transient solvers' time-step lines: `deltaT = 0.0012` and
//! `Courant Number mean: 0.0123 max: 0.85` (both flavours print them this way).

use super::LogEvent;

/// The event of a trimmed log line, if it is one of the two.
pub(super) fn parse(t: &str) -> Option<LogEvent> {
    if let Some(rest) = t.strip_prefix("deltaT = ") {
        let dt = rest.split_whitespace().next()?.parse::<f64>().ok()?;
        return Some(LogEvent::DeltaT { dt });
    }
    let rest = t.strip_prefix("Courant Number mean: ")?;
    let mut words = rest.split_whitespace();
    let mean = words.next()?.parse::<f64>().ok()?;
    let max = (words.next()? == "max:").then(|| words.next()?.parse::<f64>().ok()).flatten()?;
    Some(LogEvent::Courant { mean, max })
}

#[cfg(test)]
mod tests {
    use super::super::LogParser;
    use super::*;

    #[test]
    fn pimple_time_step_lines_are_read() {
        let log = "Courant Number mean: 0.0123 max: 0.85\ndeltaT = 0.0012\nTime = 0.0012\n\n\
                   Courant Number mean: 1e-3 max: nonsense\ndeltaT = x\n";
        let ev = LogParser::new().feed(log.as_bytes());
        assert_eq!(
            ev,
            [
                LogEvent::Courant { mean: 0.0123, max: 0.85 },
                LogEvent::DeltaT { dt: 0.0012 },
                LogEvent::Time { time: 0.0012 }
            ]
        );
        assert_eq!(parse("deltaT = 2e-05"), Some(LogEvent::DeltaT { dt: 2e-5 }));
    }
}
