//! A report as one printable HTML file (A4, self-contained: its style and its charts, as
//! inline SVG, are inside; nothing is fetched), drawn from the report's
//! [`Document`](super::document::Document), every value escaped by the template or, in
//! the charts, by [`chart::svg`](super::chart::svg).

use askama::Template;

use super::document::{Block, Document};
use super::{Report, ReportError};

/// One block, ready for the template.
enum HtmlBlock<'a> {
    Pairs(&'a [(String, String)]),
    Table(&'a super::document::Table),
    /// An SVG element made by [`super::chart::svg`], whose texts it escaped.
    Svg(String),
    Text(&'a str),
}

struct HtmlSection<'a> {
    heading: &'a str,
    blocks: Vec<HtmlBlock<'a>>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    doc: &'a Document,
    sections: Vec<HtmlSection<'a>>,
}

/// The width the charts are drawn at, points: A4 less its margins.
pub const CHART_WIDTH: f32 = 515.0;

/// The report as HTML.
pub fn render(r: &Report) -> Result<String, ReportError> {
    let doc = super::document::build(r);
    let sections = doc
        .sections
        .iter()
        .map(|s| HtmlSection {
            heading: &s.heading,
            blocks: s
                .blocks
                .iter()
                .map(|b| match b {
                    Block::Pairs(p) => HtmlBlock::Pairs(p),
                    Block::Table(t) => HtmlBlock::Table(t),
                    Block::Chart(c) => HtmlBlock::Svg(super::chart::svg(c, CHART_WIDTH)),
                    Block::Text(t) => HtmlBlock::Text(t),
                })
                .collect(),
        })
        .collect();
    ReportPage {
        doc: &doc,
        sections,
    }
    .render()
    .map_err(|e| ReportError::Output(e.to_string()))
}
