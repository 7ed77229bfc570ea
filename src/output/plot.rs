//! Charts of a comparison (`runstore compare --plot FILE.svg|FILE.png`),
//! drawn with plotters: one line a curve, a legend for up to 20 curves,
//! axis labels, optionally a log-scale y axis. PNGs are drawn on an RGB
//! bitmap and encoded with the png crate; text uses the bundled DejaVu Sans.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::analysis::{Axis, Comparison};
use crate::error::{Error, Result};

/// Most curves the legend names.
pub const LEGEND_MAX: usize = 20;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// How to draw.
#[derive(Clone, Debug)]
pub struct PlotOptions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// A log-scale y axis (points ≤ 0 are left out).
    pub log_y: bool,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            width: 1200,
            height: 720,
            log_y: false,
        }
    }
}

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Output(format!("cannot draw the chart: {e}"))
}

/// Draws `c` into `path`: SVG or PNG by its extension.
pub fn plot(c: &Comparison, path: &Path, options: &PlotOptions) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    register_font()?;
    let size = (options.width.max(200), options.height.max(150));
    let tmp = path.with_extension(format!("{}.tmp", ext.as_deref().unwrap_or("")));
    match ext.as_deref() {
        Some("svg") => {
            let mut text = String::new();
            {
                let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
                draw(root, c, options).map_err(plot_error)?;
            }
            std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        }
        Some("png") => {
            let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
                draw(root, c, options).map_err(plot_error)?;
            }
            let file = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
            let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), size.0, size.1);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().map_err(plot_error)?;
            writer.write_image_data(&rgb).map_err(plot_error)?;
            writer.finish().map_err(plot_error)?;
        }
        _ => {
            return Err(Error::Usage(format!(
                "--plot {}: the file must end in .svg or .png",
                path.display()
            )));
        }
    }
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn register_font() -> Result<()> {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Output("the bundled font does not load".into()))
    }
}

/// The points a curve draws: (x, value), finite (and > 0 on a log axis).
fn drawable(c: &Comparison, i: usize, log_y: bool) -> Vec<(f64, f64)> {
    let curve = &c.curves[i];
    curve
        .x
        .iter()
        .zip(&curve.points)
        .map(|(&x, p)| (x, p.value))
        .filter(|&(x, y)| x.is_finite() && y.is_finite() && (!log_y || y > 0.0))
        .collect()
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        return (lo - pad, hi + pad);
    }
    (lo, hi)
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    c: &Comparison,
    o: &PlotOptions,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let curves: Vec<Vec<(f64, f64)>> = (0..c.curves.len())
        .map(|i| drawable(c, i, o.log_y))
        .collect();
    let (x0, x1) = bounds(curves.iter().flatten().map(|p| p.0));
    let (y0, y1) = bounds(curves.iter().flatten().map(|p| p.1));
    let x_desc = match c.x {
        Axis::Step => "step",
        Axis::Timestamp => "time (ms since the epoch)",
        Axis::Relative => "time since the first point (s)",
    };
    let y_desc = c.metrics.join(", ");
    let caption = format!("{} — {} curves", y_desc, c.curves.len());
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(72);
    if o.log_y {
        let lo = if y0 > 0.0 { y0 } else { 1e-12 };
        let mut chart = builder.build_cartesian_2d(x0..x1, (lo..y1.max(lo * 10.0)).log_scale())?;
        curves_on(&mut chart, c, &curves, x_desc, &y_desc)
    } else {
        let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1)?;
        curves_on(&mut chart, c, &curves, x_desc, &y_desc)
    }?;
    root.present()
}

fn curves_on<'a, DB: DrawingBackend + 'a, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    c: &Comparison,
    curves: &[Vec<(f64, f64)>],
    x_desc: &str,
    y_desc: &str,
) -> DrawResult<DB>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()?;
    let legend = c.curves.len() <= LEGEND_MAX;
    for (i, points) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let series = chart.draw_series(LineSeries::new(
            points.iter().copied(),
            color.stroke_width(2),
        ))?;
        if legend {
            let curve = &c.curves[i];
            let name = if curve.run_name.is_empty() {
                curve.run_id.to_string()
            } else {
                curve.run_name.clone()
            };
            let label = if c.metrics.len() > 1 {
                format!("{name} · {}", curve.key)
            } else {
                name
            };
            series.label(label).legend(move |(x, y)| {
                Rectangle::new([(x, y - 2), (x + 16, y + 2)], color.filled())
            });
        }
    }
    if legend && !c.curves.is_empty() {
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
    }
    Ok(())
}
