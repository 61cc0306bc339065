//! A report as PDF, made in Rust with krilla (no browser on the Pi): A4 pages drawn from
//! the report's [`Document`], set in a TrueType font that covers Vietnamese (Debian's
//! DejaVu Sans by default, `[reports] font`), embedded and subset; the charts are vector
//! paths, the tables wrap their cells and repeat their header on each new page, and every
//! page's foot names the site, the period, the journal's last event and the page number.
//!
//! Layout is a first pass into positioned [`Shape`]s per page (the charts' own kind), so the page count is known
//! when the feet are written; drawing is the second.

use std::path::Path;
use std::sync::Arc;

use krilla::Document as PdfDocument;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

use super::chart::{Anchor, Rgb, Shape};
use super::document::{Block, Document, Table};
use super::{Report, ReportError};

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 40.0;
const BODY: f32 = 8.0;
const LINE: f32 = 10.5;
const PAD: f32 = 2.5;
const INK: Rgb = (17, 17, 17);
const RULE: Rgb = (170, 170, 170);
const SHADE: Rgb = (235, 235, 235);

/// A font face: krilla's handle for drawing, its bytes for measuring.
#[derive(Clone)]
struct Face {
    font: Font,
    data: Arc<Vec<u8>>,
}

impl Face {
    fn load(path: &Path) -> Result<Face, ReportError> {
        let bytes = std::fs::read(path).map_err(|e| {
            ReportError::Output(format!(
                "the PDF's font {}: {e} (install fonts-dejavu-core, or set [reports] font)",
                path.display()
            ))
        })?;
        let data = Arc::new(bytes);
        let font = Font::new(
            krilla::Data::from(Arc::clone(&data) as Arc<dyn AsRef<[u8]> + Send + Sync>),
            0,
        )
        .ok_or_else(|| ReportError::Output(format!("{} is not a TrueType font", path.display())))?;
        Ok(Face { font, data })
    }

    /// The width of `text` at `size`, points (advances only; close enough to wrap by).
    fn width(&self, text: &str, size: f32) -> f32 {
        let Ok(font) = skrifa::FontRef::new(&self.data) else {
            return text.chars().count() as f32 * size * 0.6;
        };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .map(|c| {
                charmap
                    .map(c)
                    .and_then(|g| metrics.advance_width(g))
                    .unwrap_or(size * 0.6)
            })
            .sum()
    }
}

/// The regular and bold faces.
pub struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    /// Loads the faces `[reports]` names.
    pub fn load(reports: &crate::config::Reports) -> Result<Fonts, ReportError> {
        Ok(Fonts {
            regular: Face::load(&reports.font)?,
            bold: Face::load(&reports.bold_font)?,
        })
    }

    fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }
}

/// The first pass: pages of ops and a cursor.
struct Layout<'a> {
    fonts: &'a Fonts,
    pages: Vec<Vec<Shape>>,
    y: f32,
}

impl<'a> Layout<'a> {
    fn new(fonts: &'a Fonts) -> Self {
        Layout {
            fonts,
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    fn bottom() -> f32 {
        PAGE_H - MARGIN - 14.0
    }

    fn width() -> f32 {
        PAGE_W - 2.0 * MARGIN
    }

    fn push(&mut self, op: Shape) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Makes room for `h` points, starting a page when they do not fit.
    fn room(&mut self, h: f32) {
        if self.y + h > Self::bottom() && self.y > MARGIN {
            self.new_page();
        }
    }

    /// Splits `text` into lines no wider than `width`, by words, and a word wider than
    /// the line by characters.
    fn wrap(&self, text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
        let face = self.fonts.face(bold);
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if face.width(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // The word alone: break it where it must.
                for c in word.chars() {
                    let mut next = line.clone();
                    next.push(c);
                    if face.width(&next, size) > width && !line.is_empty() {
                        lines.push(std::mem::replace(&mut line, c.to_string()));
                    } else {
                        line = next;
                    }
                }
            }
            lines.push(line);
        }
        lines
    }

    fn text(&mut self, text: &str, size: f32, bold: bool) {
        for line in self.wrap(text, size, bold, Self::width()) {
            self.room(size * 1.3);
            self.y += size * 1.3;
            self.push(Shape::Text {
                anchor: Anchor::Start,
                x: MARGIN,
                y: self.y - size * 0.3,
                size,
                bold,
                text: line,
                color: INK,
            });
        }
        self.y += 2.0;
    }

    /// A thin rule across the page at the cursor.
    fn rule(&mut self) {
        self.push(Shape::Line {
            x1: MARGIN,
            y1: self.y,
            x2: PAGE_W - MARGIN,
            y2: self.y,
            color: RULE,
        });
    }

    fn heading(&mut self, text: &str) {
        // A heading is never the last thing on a page.
        self.room(60.0);
        self.y += 8.0;
        self.text(text, 11.5, true);
        self.rule();
        self.y += 4.0;
    }

    /// Column widths: each column's natural width, shrunk fairly when the table is too
    /// wide (narrow columns keep theirs, wide ones share the rest).
    fn columns(&self, t: &Table) -> Vec<f32> {
        let n = t.header.len().max(1);
        let natural: Vec<f32> = (0..n)
            .map(|i| {
                let header = t
                    .header
                    .get(i)
                    .map_or(0.0, |h| self.fonts.bold.width(h, BODY).min(90.0));
                let cells = t
                    .rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| self.fonts.regular.width(c, BODY))
                    .fold(0.0_f32, f32::max);
                header.max(cells) + 2.0 * PAD + 1.0
            })
            .collect();
        let total: f32 = natural.iter().sum();
        let avail = Self::width();
        if total <= avail {
            // A short table of few columns (counts) stays narrow; a wide one fills the line.
            let target = if n <= 3 {
                (avail * 0.6).max(total)
            } else {
                avail
            };
            let extra = (target - total) / n as f32;
            return natural.iter().map(|w| w + extra).collect();
        }
        let mut fair = avail / n as f32;
        // Columns narrower than a fair share keep their width; the rest share what is left.
        for _ in 0..n {
            let (narrow, narrow_sum): (usize, f32) = natural
                .iter()
                .filter(|w| **w <= fair)
                .fold((0, 0.0), |(c, s), w| (c + 1, s + w));
            if narrow == n {
                break;
            }
            let next = (avail - narrow_sum) / (n - narrow) as f32;
            if (next - fair).abs() < 0.01 {
                break;
            }
            fair = next;
        }
        natural.iter().map(|w| w.min(fair)).collect()
    }

    fn row(&mut self, cells: &[String], widths: &[f32], t: &Table, header: bool) -> f32 {
        let wrapped: Vec<Vec<String>> = widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let text = cells.get(i).map_or("", String::as_str);
                self.wrap(text, BODY, header, w - 2.0 * PAD)
            })
            .collect();
        let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let h = lines as f32 * LINE + 2.0 * PAD;
        if header {
            self.push(Shape::Rect {
                x: MARGIN,
                y: self.y,
                w: widths.iter().sum(),
                h,
                color: SHADE,
            });
        }
        let mut x = MARGIN;
        for (i, (w, lines)) in widths.iter().zip(wrapped).enumerate() {
            for (k, line) in lines.into_iter().enumerate() {
                let lx = if t.is_numeric(i) {
                    x + w - PAD - self.fonts.face(header).width(&line, BODY)
                } else {
                    x + PAD
                };
                self.push(Shape::Text {
                    anchor: Anchor::Start,
                    x: lx,
                    y: self.y + PAD + LINE * (k as f32 + 1.0) - 2.5,
                    size: BODY,
                    bold: header,
                    text: line,
                    color: INK,
                });
            }
            x += w;
        }
        self.push(Shape::Line {
            x1: MARGIN,
            y1: self.y + h,
            x2: x,
            y2: self.y + h,
            color: RULE,
        });
        h
    }

    fn table(&mut self, t: &Table) {
        let widths = self.columns(t);
        let header_h = self.measure_row(&t.header, &widths, true);
        self.room(header_h + LINE + 2.0 * PAD);
        self.y += self.row(&t.header, &widths, t, true);
        for r in &t.rows {
            let h = self.measure_row(r, &widths, false);
            if self.y + h > Self::bottom() {
                self.new_page();
                self.y += self.row(&t.header, &widths, t, true);
            }
            self.y += self.row(r, &widths, t, false);
        }
        self.y += 6.0;
    }

    fn measure_row(&self, cells: &[String], widths: &[f32], bold: bool) -> f32 {
        let lines = widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                self.wrap(
                    cells.get(i).map_or("", String::as_str),
                    BODY,
                    bold,
                    w - 2.0 * PAD,
                )
                .len()
            })
            .max()
            .unwrap_or(1)
            .max(1);
        lines as f32 * LINE + 2.0 * PAD
    }

    fn pairs(&mut self, pairs: &[(String, String)]) {
        let label_w = pairs
            .iter()
            .map(|(l, _)| self.fonts.bold.width(l, BODY))
            .fold(0.0_f32, f32::max)
            .min(170.0)
            + 2.0 * PAD
            + 4.0;
        for (label, value) in pairs {
            let labels = self.wrap(label, BODY, true, label_w - 2.0 * PAD);
            let values = self.wrap(value, BODY, false, Self::width() - label_w - 2.0 * PAD);
            let h = labels.len().max(values.len()).max(1) as f32 * LINE + 2.0 * PAD;
            self.room(h);
            for (k, line) in labels.into_iter().enumerate() {
                self.push(Shape::Text {
                    anchor: Anchor::Start,
                    x: MARGIN + PAD,
                    y: self.y + PAD + LINE * (k as f32 + 1.0) - 2.5,
                    size: BODY,
                    bold: true,
                    text: line,
                    color: INK,
                });
            }
            for (k, line) in values.into_iter().enumerate() {
                self.push(Shape::Text {
                    anchor: Anchor::Start,
                    x: MARGIN + label_w + PAD,
                    y: self.y + PAD + LINE * (k as f32 + 1.0) - 2.5,
                    size: BODY,
                    bold: false,
                    text: line,
                    color: INK,
                });
            }
            self.y += h;
            self.rule();
        }
        self.y += 6.0;
    }

    fn chart(&mut self, chart: &super::chart::Chart) {
        let h = chart.height();
        self.room(h);
        let (ox, oy) = (MARGIN, self.y);
        for shape in chart.shapes(Self::width()) {
            let op = shape.translated(ox, oy);
            self.push(op);
        }
        self.y += h + 4.0;
    }
}

fn paint(color: Rgb) -> krilla::paint::Paint {
    rgb::Color::new(color.0, color.1, color.2).into()
}

fn draw(surface: &mut krilla::surface::Surface<'_>, fonts: &Fonts, op: &Shape) {
    match op {
        Shape::Text {
            anchor,
            x,
            y,
            size,
            bold,
            text,
            color,
        } => {
            let w = fonts.face(*bold).width(text, *size);
            let x = match anchor {
                Anchor::Start => *x,
                Anchor::Middle => x - w / 2.0,
                Anchor::End => x - w,
            };
            surface.set_fill(Some(Fill {
                paint: paint(*color),
                opacity: NormalizedF32::ONE,
                rule: Default::default(),
            }));
            surface.draw_text(
                Point::from_xy(x, *y),
                fonts.face(*bold).font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Shape::Rect { x, y, w, h, color } => {
            let Some(rect) = Rect::from_xywh(*x, *y, w.max(0.1), h.max(0.1)) else {
                return;
            };
            let mut path = PathBuilder::new();
            path.push_rect(rect);
            if let Some(path) = path.finish() {
                surface.set_stroke(None);
                surface.set_fill(Some(Fill {
                    paint: paint(*color),
                    opacity: NormalizedF32::ONE,
                    rule: Default::default(),
                }));
                surface.draw_path(&path);
            }
        }
        Shape::Line {
            x1,
            y1,
            x2,
            y2,
            color,
        } => {
            let mut path = PathBuilder::new();
            path.move_to(*x1, *y1);
            path.line_to(*x2, *y2);
            if let Some(path) = path.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: paint(*color),
                    width: 0.5,
                    ..Default::default()
                }));
                surface.draw_path(&path);
                surface.set_stroke(None);
            }
        }
    }
}

/// Lays `doc` out into pages of ops.
fn layout(doc: &Document, fonts: &Fonts) -> Vec<Vec<Shape>> {
    let mut l = Layout::new(fonts);
    l.text(&doc.title, 16.0, true);
    l.text(&format!("{} · {}", doc.period, doc.range), 10.0, false);
    l.y += 4.0;
    l.pairs(&doc.summary);
    for section in &doc.sections {
        l.heading(&section.heading);
        for block in &section.blocks {
            match block {
                Block::Pairs(p) => l.pairs(p),
                Block::Table(t) => l.table(t),
                Block::Chart(c) => l.chart(c),
                Block::Text(t) => l.text(t, 9.0, false),
            }
        }
    }
    l.pages
}

/// The report as PDF bytes, set in `fonts`.
pub fn render(r: &Report, fonts: &Fonts) -> Result<Vec<u8>, ReportError> {
    let doc = super::document::build(r);
    let pages = layout(&doc, fonts);
    let count = pages.len();
    let mut pdf = PdfDocument::new();
    pdf.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("{} · {}", doc.title, doc.period))
            .creator("picket".to_string())
            .language(doc.lang.to_string()),
    );
    let size = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| ReportError::Output("A4 page size".into()))?;
    for (i, ops) in pages.iter().enumerate() {
        let mut page = pdf.start_page_with(size.clone());
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, fonts, op);
        }
        let foot = format!(
            "{} · {} {}/{count}",
            doc.footer,
            r.say("trang", "page"),
            i + 1
        );
        draw(
            &mut surface,
            fonts,
            &Shape::Text {
                anchor: Anchor::Start,
                x: MARGIN,
                y: PAGE_H - MARGIN + 8.0,
                size: 7.0,
                bold: false,
                text: foot,
                color: (85, 85, 85),
            },
        );
        surface.finish();
        page.finish();
    }
    pdf.finish()
        .map_err(|e| ReportError::Output(format!("making the PDF: {e:?}")))
}
