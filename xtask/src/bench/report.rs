//! The bench report: `report.md` (a table with ratios to the floors), `report.json`, and
//! `report.svg` (throughput per scenario, floors drawn as marks).

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

/// One scenario at one concurrency.
#[derive(Debug, Clone)]
pub struct Row {
    pub backend: String,
    pub scenario: String,
    pub concurrency: usize,
    pub throughput: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub errors: u64,
    pub server_cpu_percent: f64,
    pub server_peak_rss_mb: f64,
    /// Resident memory when the row was taken.
    pub server_rss_mb: f64,
    pub floor: Option<String>,
    pub floor_throughput: Option<f64>,
    pub floor_p99: Option<f64>,
}

impl Row {
    /// The same row, compared with a floor.
    pub fn with_floor(mut self, name: &str, throughput: f64, p99: Option<f64>) -> Self {
        self.floor = Some(name.to_owned());
        self.floor_throughput = Some(throughput);
        self.floor_p99 = p99;
        self
    }

    fn ratio(&self) -> Option<f64> {
        self.floor_throughput
            .filter(|f| *f > 0.0)
            .map(|f| self.throughput / f)
    }

    fn json(&self) -> Value {
        json!({
            "backend": self.backend, "scenario": self.scenario, "concurrency": self.concurrency,
            "throughput_per_s": self.throughput, "p50_ms": self.p50, "p90_ms": self.p90,
            "p99_ms": self.p99, "max_ms": self.max, "errors": self.errors,
            "server_cpu_percent": self.server_cpu_percent, "server_peak_rss_mb": self.server_peak_rss_mb,
            "server_rss_mb": self.server_rss_mb,
            "floor": self.floor, "floor_throughput_per_s": self.floor_throughput,
            "floor_p99_ms": self.floor_p99, "ratio_to_floor": self.ratio(),
        })
    }
}

/// Writes the three files into `dir`.
pub fn write(dir: &Path, rows: &[Row], machine: &Value) -> Result<(), String> {
    let json =
        json!({ "machine": machine, "rows": rows.iter().map(Row::json).collect::<Vec<_>>() });
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&json).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(dir.join("report.md"), markdown(rows, machine)).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("report.svg"), svg(rows)).map_err(|e| e.to_string())?;
    Ok(())
}

fn markdown(rows: &[Row], machine: &Value) -> String {
    let mut md = String::from("# rekey bench\n\n");
    let _ = writeln!(
        md,
        "Machine: {} cores, {}; PostgreSQL {}. Client, server and database share it.\n",
        machine["cores"],
        machine["cpu"].as_str().unwrap_or("?"),
        machine["postgres"].as_str().unwrap_or("?")
    );
    md.push_str("| backend | scenario | conc. | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU % | RSS MB | peak RSS MB | floor | floor req/s | floor p99 ms | ratio |\n");
    md.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.0} | {:.1} | {:.1} | {} | {} | {} | {} |",
            r.backend,
            r.scenario,
            r.concurrency,
            r.throughput,
            r.p50,
            r.p90,
            r.p99,
            r.max,
            r.errors,
            r.server_cpu_percent,
            r.server_rss_mb,
            r.server_peak_rss_mb,
            r.floor.as_deref().unwrap_or(""),
            r.floor_throughput
                .map_or(String::new(), |f| format!("{f:.0}")),
            r.floor_p99.map_or(String::new(), |f| format!("{f:.2}")),
            r.ratio().map_or(String::new(), |x| format!("{x:.2}")),
        );
    }
    md
}

fn svg(rows: &[Row]) -> String {
    let width = 900.0;
    let bar = 22.0;
    let height = 60.0 + bar * 1.5 * rows.len() as f64;
    let top = rows
        .iter()
        .map(|r| r.throughput.max(r.floor_throughput.unwrap_or(0.0)))
        .fold(1.0, f64::max);
    let scale = (width - 420.0) / top;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <text x=\"10\" y=\"20\" font-size=\"14\">rekey: throughput (bars) and floors (red marks); p99 in ms at the right</text>\n"
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 40.0 + bar * 1.5 * i as f64;
        let w = r.throughput * scale;
        let _ = writeln!(
            out,
            "<text x=\"10\" y=\"{:.1}\">{} {} c={}</text><rect x=\"260\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar}\" fill=\"#1a56db\"/><text x=\"{:.1}\" y=\"{:.1}\">{:.0}/s  p99 {:.1}</text>",
            y + 15.0,
            r.backend,
            r.scenario,
            r.concurrency,
            265.0 + w,
            y + 15.0,
            r.throughput,
            r.p99
        );
        if let Some(floor) = r.floor_throughput {
            let x = 260.0 + floor * scale;
            let _ = writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"3\" height=\"{:.1}\" fill=\"#b91c1c\"/>",
                y - 3.0,
                bar + 6.0
            );
        }
    }
    out.push_str("</svg>\n");
    out
}
