//! The bench report: `report.md` (a table with ratios to the floors), `report.json`, and
//! `report.svg` (plotters: throughput and latency percentiles per scenario, floors in red).

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use super::cost::Cost;

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
    /// What one request cost (scenarios that measure it).
    pub cost: Option<Cost>,
}

impl Row {
    /// The same row, compared with a floor.
    pub fn with_floor(mut self, name: &str, throughput: f64, p99: Option<f64>) -> Self {
        self.floor = Some(name.to_owned());
        self.floor_throughput = Some(throughput);
        self.floor_p99 = p99;
        self
    }

    /// The same row, with the CPU its floor's client (pgbench) spent per transaction.
    pub fn with_client_cpu(mut self, us: f64) -> Self {
        if let Some(cost) = &mut self.cost {
            cost.client_cpu_us = Some(us);
        }
        self
    }

    /// The same row, with what one request cost.
    pub fn with_cost(mut self, cost: Cost) -> Self {
        self.cost = Some(cost);
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
            "cost": self.cost.map(|c| json!({
                "rekey_cpu_us": c.rekey_cpu_us, "db_cpu_us": c.db_cpu_us,
                "statements": c.statements, "wal_bytes": c.wal_bytes,
                "client_cpu_us": c.client_cpu_us, "load_cpu_us": c.load_cpu_us,
                "writer_us": c.writer_us,
                "writer_turns": c.writer_turns,
            })),
        })
    }
}

/// Reads the machine and the rows back from a `report.json`.
pub fn read(path: &Path) -> Result<(Vec<Row>, Value), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let number = |row: &Value, key: &str| row[key].as_f64().unwrap_or(0.0);
    let rows = json["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| Row {
                    backend: row["backend"].as_str().unwrap_or_default().to_owned(),
                    scenario: row["scenario"].as_str().unwrap_or_default().to_owned(),
                    concurrency: row["concurrency"].as_u64().unwrap_or(0) as usize,
                    throughput: number(row, "throughput_per_s"),
                    p50: number(row, "p50_ms"),
                    p90: number(row, "p90_ms"),
                    p99: number(row, "p99_ms"),
                    max: number(row, "max_ms"),
                    errors: row["errors"].as_u64().unwrap_or(0),
                    server_cpu_percent: number(row, "server_cpu_percent"),
                    server_peak_rss_mb: number(row, "server_peak_rss_mb"),
                    server_rss_mb: number(row, "server_rss_mb"),
                    floor: row["floor"].as_str().map(str::to_owned),
                    floor_throughput: row["floor_throughput_per_s"].as_f64(),
                    floor_p99: row["floor_p99_ms"].as_f64(),
                    cost: row["cost"].as_object().map(|c| Cost {
                        rekey_cpu_us: c["rekey_cpu_us"].as_f64().unwrap_or(0.0),
                        db_cpu_us: c["db_cpu_us"].as_f64(),
                        statements: c["statements"].as_f64().unwrap_or(0.0),
                        wal_bytes: c["wal_bytes"].as_f64(),
                        client_cpu_us: c["client_cpu_us"].as_f64(),
                        load_cpu_us: c.get("load_cpu_us").and_then(Value::as_f64),
                        writer_us: c.get("writer_us").and_then(Value::as_f64),
                        writer_turns: c.get("writer_turns").and_then(Value::as_f64),
                    }),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((rows, json["machine"].clone()))
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
    std::fs::write(dir.join("report.svg"), svg(rows)?).map_err(|e| e.to_string())?;
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
    if let Some(sizes) = machine["sizes"].as_array().filter(|s| !s.is_empty()) {
        md.push_str("\n## Table sizes\n\n| when | table | rows (estimate) | table MB | indexes MB |\n|---|---|---:|---:|---:|\n");
        for size in sizes {
            let mb = |key: &str| size[key].as_f64().unwrap_or(0.0) / 1_048_576.0;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.1} | {:.1} |",
                size["when"].as_str().unwrap_or(""),
                size["table"].as_str().unwrap_or(""),
                size["rows"],
                mb("table_bytes"),
                mb("index_bytes"),
            );
        }
    }
    let costed: Vec<&Row> = rows.iter().filter(|r| r.cost.is_some()).collect();
    if !costed.is_empty() {
        md.push_str("\n## Cost per request\n\nCPU from `/proc` ticks over the scenario (warm-up included) ÷ answers; database CPU: the PostgreSQL backends connected to the bench database; statements: rekey's `rekey_db_statements_total`, `BEGIN`/`COMMIT` included; WAL: `pg_current_wal_lsn()` moved. The tokio-postgres row's CPU is the bench's own process (the driver alone, no rekey); pgbench µs: pgbench's own CPU per transaction replaying the same SQL (its per-transaction log line included); load µs: the bench's own process, its load generator, which shares the two cores with the server; writer µs (SQLite): how long each request held the one writer connection (`rekey_db_writer_held_seconds`), and in brackets the share of the run the writer was busy (writer µs × req/s), which bounds SQLite's write rate at 100 %, and the writes a request made (each one a turn of the writer thread, which runs them back to back).\n\n");
        md.push_str("| backend | scenario | conc. | rekey CPU µs | database CPU µs | statements | WAL bytes | pgbench µs | load µs | writer µs (busy, writes) |\n");
        md.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in costed {
            let Some(c) = r.cost else { continue };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.0} | {} | {:.2} | {} | {} | {} | {} |",
                r.backend,
                r.scenario,
                r.concurrency,
                c.rekey_cpu_us,
                c.db_cpu_us.map_or(String::new(), |u| format!("{u:.0}")),
                c.statements,
                c.wal_bytes.map_or(String::new(), |b| format!("{b:.0}")),
                c.client_cpu_us.map_or(String::new(), |u| format!("{u:.0}")),
                c.load_cpu_us.map_or(String::new(), |u| format!("{u:.0}")),
                c.writer_us.map_or(String::new(), |u| {
                    let turns = c
                        .writer_turns
                        .map_or(String::new(), |t| format!(", {t:.2} writes"));
                    format!("{u:.0} ({:.0} %{turns})", u * r.throughput / 1e4)
                }),
            );
        }
    }
    md
}

/// A latency mark in the chart: its name, colour, and the value it shows.
type Mark = (&'static str, plotters::style::RGBColor, fn(&Row) -> f64);

/// Two panels over the same scenarios: throughput as bars with the floor's throughput as a
/// red mark (log scale), and latency p50, p90, p99 and max with the floor's p99 in red.
fn svg(rows: &[Row]) -> Result<String, String> {
    use plotters::prelude::*;

    let rows: Vec<&Row> = rows.iter().filter(|r| r.throughput > 0.0).collect();
    let labels: Vec<String> = rows
        .iter()
        .map(|r| {
            let backend = if r.backend == "postgres" {
                "pg"
            } else {
                r.backend.as_str()
            };
            format!("{backend} {} c={}", r.scenario, r.concurrency)
        })
        .collect();
    let n = rows.len().max(1);
    let height = 120 + 26 * n as u32;
    let top_throughput = rows
        .iter()
        .map(|r| r.throughput.max(r.floor_throughput.unwrap_or(0.0)))
        .fold(10.0, f64::max);
    let top_latency = rows
        .iter()
        .map(|r| r.max.max(r.floor_p99.unwrap_or(0.0)))
        .fold(1.0, f64::max);
    // The first row at the top.
    let slot = |i: usize| n - 1 - i;
    let label = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) if *i < n => labels.get(slot(*i)).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1200, height)).into_drawing_area();
        let failed = |e: &dyn std::fmt::Display| format!("drawing report.svg: {e}");
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let (left, right) = root.split_horizontally(700);
        let (right, legend) = right.split_vertically(height - 30);

        let mut chart = ChartBuilder::on(&left)
            .caption("throughput, req/s (red: floor)", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(300)
            .build_cartesian_2d(
                (1.0..top_throughput * 1.5).log_scale(),
                (0..n).into_segmented(),
            )
            .map_err(|e| failed(&e))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&label)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(|e| failed(&e))?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let mut bar = Rectangle::new(
                    [
                        (1.0, SegmentValue::Exact(slot(i))),
                        (r.throughput, SegmentValue::Exact(slot(i) + 1)),
                    ],
                    RGBColor(0x1a, 0x56, 0xdb).filled(),
                );
                bar.set_margin(4, 4, 0, 0);
                bar
            }))
            .map_err(|e| failed(&e))?;
        chart
            .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
                let floor = r.floor_throughput?;
                Some(PathElement::new(
                    vec![
                        (floor, SegmentValue::Exact(slot(i))),
                        (floor, SegmentValue::Exact(slot(i) + 1)),
                    ],
                    RED.stroke_width(3),
                ))
            }))
            .map_err(|e| failed(&e))?;

        let mut chart = ChartBuilder::on(&right)
            .caption("latency, ms (red: floor p99)", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(10)
            .build_cartesian_2d(
                (0.05..top_latency * 1.5).log_scale(),
                (0..n).into_segmented(),
            )
            .map_err(|e| failed(&e))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|_| String::new())
            .x_label_formatter(&|x| format!("{x}"))
            .draw()
            .map_err(|e| failed(&e))?;
        let timed: Vec<(usize, &&Row)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.p50 > 0.0)
            .collect();
        let at = |i: usize| SegmentValue::CenterOf(slot(i));
        chart
            .draw_series(timed.iter().map(|(i, r)| {
                PathElement::new(
                    vec![(r.p50, at(*i)), (r.max, at(*i))],
                    BLACK.mix(0.4).stroke_width(1),
                )
            }))
            .map_err(|e| failed(&e))?;
        let marks: [Mark; 4] = [
            ("p50", RGBColor(0x1a, 0x56, 0xdb), |r| r.p50),
            ("p90", RGBColor(0x0e, 0x9f, 0x6e), |r| r.p90),
            ("p99", RGBColor(0xc2, 0x78, 0x03), |r| r.p99),
            ("max", RGBColor(0x55, 0x55, 0x55), |r| r.max),
        ];
        for (_, color, value) in marks {
            chart
                .draw_series(
                    timed
                        .iter()
                        .map(|(i, r)| Circle::new((value(r), at(*i)), 4, color.filled())),
                )
                .map_err(|e| failed(&e))?;
        }
        chart
            .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
                let floor = r.floor_p99?;
                Some(PathElement::new(
                    vec![
                        (floor, SegmentValue::Exact(slot(i))),
                        (floor, SegmentValue::Exact(slot(i) + 1)),
                    ],
                    RED.stroke_width(3),
                ))
            }))
            .map_err(|e| failed(&e))?;
        // The legend, in a strip under the latency panel.
        let text = ("sans-serif", 13).into_font();
        for (k, (name, color, _)) in marks.iter().enumerate() {
            let x = 40 + 80 * k as i32;
            legend
                .draw(&Circle::new((x, 12), 4, color.filled()))
                .map_err(|e| failed(&e))?;
            legend
                .draw(&Text::new(*name, (x + 8, 5), text.clone()))
                .map_err(|e| failed(&e))?;
        }
        legend
            .draw(&PathElement::new(
                vec![(360, 5), (360, 19)],
                RED.stroke_width(3),
            ))
            .map_err(|e| failed(&e))?;
        legend
            .draw(&Text::new("floor p99", (368, 5), text))
            .map_err(|e| failed(&e))?;
        root.present().map_err(|e| failed(&e))?;
    }
    Ok(out)
}
