//! Usage reports as text: CSV for spreadsheets (RFC 4180: comma-separated, CRLF, quoted
//! where needed; a text cell that a spreadsheet would run as a formula is prefixed with
//! `'`) and aligned tables for the terminal. Cells are typed, so each kind of value is
//! written one way in both: core-hours with four decimals, US dollars with two.
use super::usage::{SubjectRow, UsageReport};

/// One value of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    CoreHours(f64),
    Usd(f64),
    Int(i64),
    /// No limit: "unlimited" in a table, an empty CSV field.
    Unlimited,
    /// Nothing (an unknown value).
    Empty,
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
    fn opt_text(s: &Option<String>) -> Cell {
        s.as_ref().map_or(Cell::Empty, |s| Cell::Text(s.clone()))
    }
    fn opt_hours(h: Option<f64>) -> Cell {
        h.map_or(Cell::Unlimited, Cell::CoreHours)
    }

    /// The value as people read it.
    fn plain(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            // `+ 0.0` turns a -0 (an empty sum) into 0.
            Cell::CoreHours(h) => format!("{:.4}", h + 0.0),
            Cell::Usd(d) => format!("{:.2}", d + 0.0),
            Cell::Int(n) => n.to_string(),
            Cell::Unlimited => "unlimited".into(),
            Cell::Empty => String::new(),
        }
    }

    /// The value as one CSV field.
    fn csv(&self) -> String {
        let s = match self {
            Cell::Text(s) => s,
            Cell::Unlimited => return String::new(),
            other => return other.plain(),
        };
        // A leading = + - @ (or a tab or CR) makes a spreadsheet evaluate the cell.
        let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.clone() };
        if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    }
}

/// Rows as CSV, each line ended by CRLF.
pub fn csv(rows: &[Vec<Cell>]) -> String {
    rows.iter().map(|r| r.iter().map(Cell::csv).collect::<Vec<_>>().join(",") + "\r\n").collect()
}

/// Rows as a table: text left-aligned, numbers right-aligned, two spaces between columns.
pub fn table(rows: &[Vec<Cell>]) -> String {
    let plain: Vec<Vec<String>> =
        rows.iter().map(|r| r.iter().map(|c| c.plain().replace(['\n', '\r', '\t'], " ")).collect()).collect();
    let cols = plain.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|i| plain.iter().filter_map(|r| r.get(i)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (r, cells) in rows.iter().zip(&plain) {
        let line: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, s)| match r[i] {
                Cell::Text(_) | Cell::Empty | Cell::Unlimited => format!("{s:<w$}", w = width[i]),
                _ => format!("{s:>w$}", w = width[i]),
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A subject's report, one row per job, then the total.
pub fn report_rows(r: &UsageReport) -> Vec<Vec<Cell>> {
    let head = ["job_id", "project_id", "project", "case", "executor", "cores", "status", "core_hours"];
    let mut rows = vec![head.iter().map(|h| Cell::text(*h)).collect::<Vec<_>>()];
    for j in &r.by_job {
        rows.push(vec![
            j.job_id.as_ref().map_or(Cell::text("(deleted jobs)"), |id| Cell::text(id.as_str())),
            Cell::opt_text(&j.project_id),
            Cell::text(j.project.as_str()),
            Cell::opt_text(&j.case_name),
            Cell::opt_text(&j.executor),
            j.cores.map_or(Cell::Empty, Cell::Int),
            Cell::opt_text(&j.status),
            Cell::CoreHours(j.core_hours),
        ]);
    }
    let total: f64 = r.by_job.iter().map(|j| j.core_hours).sum();
    let mut last = vec![Cell::text("total")];
    last.extend(std::iter::repeat_n(Cell::Empty, 6));
    last.push(Cell::CoreHours(total));
    rows.push(last);
    rows
}

/// `GET /api/usage.csv`: one row per job, then the total.
pub fn report_csv(r: &UsageReport) -> String {
    csv(&report_rows(r))
}

/// A subject's report for the terminal: where it stands, then its jobs.
pub fn report_table(r: &UsageReport) -> String {
    let (from, to) = r.span();
    let included = match r.allowance.included_core_hours {
        Some(i) => format!("{i:.4} core-hours included, {:.4} credit", r.allowance.credit_core_hours),
        None => "unlimited".into(),
    };
    let remaining = r.allowance.remaining_core_hours.map_or("unlimited".into(), |h| format!("{h:.4} core-hours"));
    let mut out = format!(
        "{} on {} ({}), {from} to {to}: {included}\nused {:.4} core-hours, remaining {remaining}, overage {:.4} \
         core-hours (USD {:.2})\n\n",
        r.subject,
        r.plan_title,
        r.allowance.plan,
        r.allowance.used_core_hours,
        r.allowance.overage_core_hours,
        r.allowance.overage_usd
    );
    out.push_str(&table(&report_rows(r)));
    out
}

/// The administrator's report, one row per user and org, then the totals.
pub fn instance_rows(rows: &[SubjectRow]) -> Vec<Vec<Cell>> {
    let head = [
        "subject",
        "name",
        "plan",
        "from",
        "to",
        "included_core_hours",
        "credit_core_hours",
        "used_core_hours",
        "remaining_core_hours",
        "overage_core_hours",
        "overage_usd",
    ];
    let mut out = vec![head.iter().map(|h| Cell::text(*h)).collect::<Vec<_>>()];
    for s in rows {
        out.push(vec![
            Cell::text(s.subject.as_str()),
            Cell::text(s.label.as_str()),
            Cell::text(s.allowance.plan.as_str()),
            Cell::text(s.from.as_str()),
            Cell::text(s.to.as_str()),
            Cell::opt_hours(s.allowance.included_core_hours),
            Cell::CoreHours(s.allowance.credit_core_hours),
            Cell::CoreHours(s.allowance.used_core_hours),
            Cell::opt_hours(s.allowance.remaining_core_hours),
            Cell::CoreHours(s.allowance.overage_core_hours),
            Cell::Usd(s.allowance.overage_usd),
        ]);
    }
    let mut total = vec![Cell::text("total")];
    total.extend(std::iter::repeat_n(Cell::Empty, 6));
    total.push(Cell::CoreHours(rows.iter().map(|s| s.allowance.used_core_hours).sum()));
    total.push(Cell::Empty);
    total.push(Cell::CoreHours(rows.iter().map(|s| s.allowance.overage_core_hours).sum()));
    total.push(Cell::Usd(rows.iter().map(|s| s.allowance.overage_usd).sum()));
    out.push(total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        let rows = vec![vec![
            Cell::text("plain"),
            Cell::text("a, b"),
            Cell::text("say \"hi\""),
            Cell::text("=HYPERLINK(\"x\")"),
            Cell::text("-1"),
            Cell::CoreHours(1.0 / 3.0),
            Cell::Usd(2.5),
            Cell::Int(-4),
            Cell::Empty,
            Cell::Unlimited,
            Cell::CoreHours(-0.0),
        ]];
        assert_eq!(
            csv(&rows),
            "plain,\"a, b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",'-1,0.3333,2.50,-4,,,0.0000\r\n"
        );
    }

    #[test]
    fn tables_align_text_left_and_numbers_right() {
        let rows = vec![vec![Cell::text("name"), Cell::text("h")], vec![Cell::text("a"), Cell::CoreHours(12.0)]];
        assert_eq!(table(&rows), "name  h\na     12.0000\n");
    }
}
