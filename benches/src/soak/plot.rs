//! The soak's PNG: RSS of every instance, ingest and sink throughput, and the sink's consumer
//! lag over time, with the disruptions (kills, restarts, rebalances) marked. Drawn with
//! `plotters` (bitmap backend, text through `ab_glyph` with a TrueType font read at run time,
//! so no system font library is needed).

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::report::{rate, Series};

const FONT: &str = "sans-serif";

/// Registers the TrueType font at `path` as the plot's font (once per process).
pub fn register_font(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("font {}: {e}", path.display()))?;
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FONT, FontStyle::Normal, bytes)
        .map_err(|_| format!("font {}: not a TrueType font", path.display()))
}

type Line = (String, Vec<(f64, f64)>);

fn panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    y_desc: &str,
    lines: &[Line],
    x_max: f64,
    events: &[(f64, String)],
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let y_max = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.1))
        .fold(1.0, f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the load started")
        .y_desc(y_desc)
        .label_style((FONT, 13))
        .draw()
        .map_err(e)?;
    for (i, (t, what)) in events.iter().enumerate() {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(*t, 0.0), (*t, y_max)],
                BLACK.mix(0.35),
            )))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(Text::new(
                what.clone(),
                // staggered: disruptions close together stay readable
                (*t, y_max * (0.97 - 0.06 * (i % 4) as f64)),
                (FONT, 11).into_font().color(&BLACK.mix(0.7)),
            )))
            .map_err(e)?;
    }
    for (i, (name, pts)) in lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
            .map_err(e)?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(e)?;
    Ok(())
}

/// Draws `out` (PNG) from the sampler's series and the run's events; `start_ms` is the load's
/// start (x = 0).
pub fn draw(
    out: &Path,
    samples: &BTreeMap<String, Series>,
    events: &[(u64, String)],
    start_ms: u64,
) -> Result<(), String> {
    let rel = |s: &Series| -> Vec<(f64, f64)> {
        s.iter()
            .filter(|(t, _)| *t >= start_ms)
            .map(|(t, v)| ((t - start_ms) as f64 / 1000.0, *v))
            .collect()
    };
    let x_max = samples
        .values()
        .flat_map(|s| {
            s.last()
                .map(|(t, _)| t.saturating_sub(start_ms) as f64 / 1000.0)
        })
        .fold(1.0, f64::max);
    let rss: Vec<Line> = samples
        .iter()
        .filter_map(|(k, s)| Some((k.strip_prefix("rss_mib:")?.to_string(), rel(s))))
        .collect();
    let mut tput = Vec::new();
    if let Some(p) = samples.get("produced") {
        tput.push(("ingest: events published/s".to_string(), rel(&rate(p, 5))));
    }
    if let Some(s) = samples.get("starts") {
        tput.push(("sink: workflow starts/s".to_string(), rel(&rate(s, 5))));
    }
    let lag: Vec<Line> = samples
        .get("lag")
        .map(|l| vec![("sink group lag (events)".to_string(), rel(l))])
        .unwrap_or_default();
    let marks: Vec<(f64, String)> = events
        .iter()
        .filter(|(t, _)| *t >= start_ms)
        .map(|(t, w)| ((t - start_ms) as f64 / 1000.0, w.clone()))
        .collect();
    let root = BitMapBackend::new(out, (1400, 1200)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let areas = root.split_evenly((3, 1));
    panel(&areas[0], "RSS per process", "MiB", &rss, x_max, &marks)?;
    panel(
        &areas[1],
        "Throughput (5 s average)",
        "per second",
        &tput,
        x_max,
        &marks,
    )?;
    panel(
        &areas[2],
        "Sink consumer lag (broker offsets)",
        "events",
        &lag,
        x_max,
        &marks,
    )?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
