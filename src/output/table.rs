//! Aligned text tables (comfy-table), truncating wide values.

use comfy_table::{ContentArrangement, Table, presets};

/// Widest cell, in characters; longer values end with `…`.
const MAX_CELL: usize = 40;

/// Renders `header` and `rows` as a table.
pub fn render(header: &[String], rows: &[Vec<String>]) -> String {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| truncate(h)));
    for row in rows {
        t.add_row(row.iter().map(|c| truncate(c)));
    }
    t.to_string()
}

/// Cuts `s` to [`MAX_CELL`] characters.
pub fn truncate(s: &str) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= MAX_CELL {
        one_line
    } else {
        let mut cut: String = one_line.chars().take(MAX_CELL - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncates_by_characters() {
        let long = "名".repeat(50);
        let t = super::truncate(&long);
        assert_eq!(t.chars().count(), 40);
        assert!(t.ends_with('…'));
        assert_eq!(super::truncate("short"), "short");
    }
}
