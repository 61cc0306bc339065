//! The report's charts, drawn once as a list of shapes (rectangles, lines, text) on a
//! box of the caller's size, so the HTML's SVG and the PDF's vector graphics are the same
//! picture: alarms per day by category (stacked columns), response times and equipment
//! availability (horizontal bars).

/// A colour, RGB.
pub type Rgb = (u8, u8, u8);

/// Where a text's anchor point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// At its start.
    Start,
    /// At its middle.
    Middle,
    /// At its end.
    End,
}

/// One thing to draw; coordinates from the top left, y down, in points.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A filled rectangle.
    Rect {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Fill.
        color: Rgb,
    },
    /// A thin line.
    Line {
        /// From x.
        x1: f32,
        /// From y.
        y1: f32,
        /// To x.
        x2: f32,
        /// To y.
        y2: f32,
        /// Stroke.
        color: Rgb,
    },
    /// A line of text; `y` is its baseline.
    Text {
        /// Anchor x.
        x: f32,
        /// Baseline.
        y: f32,
        /// Size, points.
        size: f32,
        /// Anchor.
        anchor: Anchor,
        /// The text.
        text: String,
        /// Set in the bold face.
        bold: bool,
        /// Colour.
        color: Rgb,
    },
}

impl Shape {
    /// The same shape moved by `dx`, `dy`.
    pub fn translated(self, dx: f32, dy: f32) -> Shape {
        match self {
            Shape::Rect { x, y, w, h, color } => Shape::Rect {
                x: x + dx,
                y: y + dy,
                w,
                h,
                color,
            },
            Shape::Line {
                x1,
                y1,
                x2,
                y2,
                color,
            } => Shape::Line {
                x1: x1 + dx,
                y1: y1 + dy,
                x2: x2 + dx,
                y2: y2 + dy,
                color,
            },
            Shape::Text {
                x,
                y,
                size,
                anchor,
                text,
                bold,
                color,
            } => Shape::Text {
                x: x + dx,
                y: y + dy,
                size,
                anchor,
                text,
                bold,
                color,
            },
        }
    }
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartKind {
    /// Stacked columns: one per label, one colour per series.
    Columns {
        /// The x axis' labels (days).
        labels: Vec<String>,
        /// Series: name, colour, one value per label.
        series: Vec<(String, Rgb, Vec<f64>)>,
    },
    /// Horizontal bars: name, value, the value as people read it; against `max`.
    Bars {
        /// The bars.
        rows: Vec<(String, f64, String)>,
        /// The scale's end.
        max: f64,
    },
}

/// A chart with its title.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The title.
    pub title: String,
    /// What it shows.
    pub kind: ChartKind,
}

const INK: Rgb = (17, 17, 17);
const GRID: Rgb = (190, 190, 190);
const BAR: Rgb = (52, 101, 164);

/// A category's colour: fire red, intrusion blue, and so on.
pub fn category_color(category: &str) -> Rgb {
    match category {
        "fire" => (204, 0, 0),
        "burglary" => (52, 101, 164),
        "panic" | "duress" => (117, 80, 123),
        "tamper" => (245, 121, 0),
        "medical" => (78, 154, 6),
        _ => (136, 138, 133),
    }
}

impl Chart {
    /// The chart's height for a width, points.
    pub fn height(&self) -> f32 {
        match &self.kind {
            ChartKind::Columns { .. } => 170.0,
            ChartKind::Bars { rows, .. } => 28.0 + 13.0 * rows.len().max(1) as f32,
        }
    }

    /// The shapes that draw the chart in a box `width` wide and [`Chart::height`] high.
    pub fn shapes(&self, width: f32) -> Vec<Shape> {
        let mut out = vec![Shape::Text {
            x: 0.0,
            y: 11.0,
            size: 9.0,
            anchor: Anchor::Start,
            text: self.title.clone(),
            bold: false,
            color: INK,
        }];
        match &self.kind {
            ChartKind::Columns { labels, series } => columns(&mut out, width, labels, series),
            ChartKind::Bars { rows, max } => bars(&mut out, width, rows, *max),
        }
        out
    }
}

fn columns(
    out: &mut Vec<Shape>,
    width: f32,
    labels: &[String],
    series: &[(String, Rgb, Vec<f64>)],
) {
    let (left, top, bottom) = (24.0_f32, 30.0_f32, 140.0_f32);
    let plot_w = (width - left).max(1.0);
    let totals: Vec<f64> = (0..labels.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.2.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let max = totals
        .iter()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1.0)
        .ceil();
    // Whole numbers on the scale: a middle tick only when it is one.
    let max = if max > 1.0 && max % 2.0 != 0.0 {
        max + 1.0
    } else {
        max
    };
    let scale = (bottom - top) / max as f32;
    let ticks = if max >= 2.0 {
        vec![0.0, max / 2.0, max]
    } else {
        vec![0.0, max]
    };
    for tick in ticks {
        let y = bottom - tick as f32 * scale;
        out.push(Shape::Line {
            x1: left,
            y1: y,
            x2: width,
            y2: y,
            color: GRID,
        });
        out.push(Shape::Text {
            x: left - 3.0,
            y: y + 3.0,
            size: 7.0,
            anchor: Anchor::End,
            text: format!("{tick:.0}"),
            bold: false,
            color: INK,
        });
    }
    let n = labels.len().max(1);
    let step = plot_w / n as f32;
    let bar_w = (step * 0.8).max(0.5);
    // Label every k-th column so that the labels do not run into each other.
    let every = ((18.0 / step).ceil() as usize).max(1);
    for (i, label) in labels.iter().enumerate() {
        let x = left + step * i as f32 + (step - bar_w) / 2.0;
        let mut y = bottom;
        for (_, color, values) in series {
            let v = values.get(i).copied().unwrap_or(0.0);
            if v > 0.0 {
                let h = v as f32 * scale;
                y -= h;
                out.push(Shape::Rect {
                    x,
                    y,
                    w: bar_w,
                    h,
                    color: *color,
                });
            }
        }
        if i % every == 0 {
            out.push(Shape::Text {
                x: x + bar_w / 2.0,
                y: bottom + 10.0,
                size: 7.0,
                anchor: Anchor::Middle,
                text: label.clone(),
                bold: false,
                color: INK,
            });
        }
    }
    // The legend.
    let mut x = left;
    for (name, color, values) in series {
        let total: f64 = values.iter().sum();
        out.push(Shape::Rect {
            x,
            y: bottom + 17.0,
            w: 8.0,
            h: 8.0,
            color: *color,
        });
        let text = format!("{name} ({total:.0})");
        let w = 5.5 * text.chars().count() as f32;
        out.push(Shape::Text {
            x: x + 11.0,
            y: bottom + 24.5,
            size: 8.0,
            anchor: Anchor::Start,
            text,
            bold: false,
            color: INK,
        });
        x += 24.0 + w;
    }
}

fn bars(out: &mut Vec<Shape>, width: f32, rows: &[(String, f64, String)], max: f64) {
    let label_w = (width * 0.42).min(230.0);
    let value_w = 58.0;
    let plot_w = (width - label_w - value_w).max(1.0);
    let max = if max > 0.0 { max } else { 1.0 };
    let mut y = 22.0;
    out.push(Shape::Line {
        x1: label_w,
        y1: y,
        x2: label_w,
        y2: y + 13.0 * rows.len() as f32,
        color: GRID,
    });
    for (name, value, shown) in rows {
        out.push(Shape::Text {
            x: label_w - 4.0,
            y: y + 9.0,
            size: 7.5,
            anchor: Anchor::End,
            text: name.clone(),
            bold: false,
            color: INK,
        });
        let w = (value / max).clamp(0.0, 1.0) as f32 * plot_w;
        if w > 0.0 {
            out.push(Shape::Rect {
                x: label_w,
                y: y + 2.0,
                w,
                h: 9.0,
                color: BAR,
            });
        }
        out.push(Shape::Text {
            x: label_w + w + 3.0,
            y: y + 9.0,
            size: 7.5,
            anchor: Anchor::Start,
            text: shown.clone(),
            bold: false,
            color: INK,
        });
        y += 13.0;
    }
}

/// The chart as an SVG element, `width` points wide; every text is escaped.
pub fn svg(chart: &Chart, width: f32) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let hex = |(r, g, b): Rgb| format!("#{r:02x}{g:02x}{b:02x}");
    let height = chart.height();
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {width:.0} {height:.0}\" \
         width=\"100%\" role=\"img\" aria-label=\"{}\">",
        esc(&chart.title)
    );
    for shape in chart.shapes(width) {
        match shape {
            Shape::Rect { x, y, w, h, color } => out.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{}\"/>",
                hex(color)
            )),
            Shape::Line { x1, y1, x2, y2, color } => out.push_str(&format!(
                "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{}\" stroke-width=\"0.5\"/>",
                hex(color)
            )),
            Shape::Text { x, y, size, anchor, text, bold, color } => out.push_str(&format!(
                "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{size}\"{} text-anchor=\"{}\" fill=\"{}\">{}</text>",
                if bold { " font-weight=\"bold\"" } else { "" },
                match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                },
                hex(color),
                esc(&text)
            )),
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_stack_their_series_and_label_the_scale() {
        let chart = Chart {
            title: "Báo động mỗi ngày".into(),
            kind: ChartKind::Columns {
                labels: vec!["1".into(), "2".into()],
                series: vec![
                    ("fire".into(), category_color("fire"), vec![1.0, 0.0]),
                    (
                        "burglary".into(),
                        category_color("burglary"),
                        vec![1.0, 2.0],
                    ),
                ],
            },
        };
        let shapes = chart.shapes(200.0);
        let rects: Vec<f32> = shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Rect { h, w, .. } if *w > 8.0 => Some(*h),
                _ => None,
            })
            .collect();
        // Day 1: fire 1 and burglary 1 stacked; day 2: burglary 2, as tall as day 1's two.
        assert_eq!(rects.len(), 3);
        assert!((rects[0] + rects[1] - rects[2]).abs() < 0.01, "{rects:?}");
        let svg = svg(&chart, 200.0);
        assert!(
            svg.contains(">burglary (3)</text>") && svg.contains(">2</text>"),
            "{svg}"
        );
    }

    #[test]
    fn svg_escapes_every_text() {
        let chart = Chart {
            title: "<script>".into(),
            kind: ChartKind::Bars {
                rows: vec![("a&b".into(), 1.0, "\"1\"".into())],
                max: 2.0,
            },
        };
        let svg = svg(&chart, 300.0);
        assert!(
            !svg.contains("<script>") && svg.contains("a&amp;b") && svg.contains("&quot;1&quot;")
        );
    }
}
