//! The report's typesetting: a flow of blocks (headings, wrapped paragraphs, tables that
//! break across pages with their header repeated, fixed-size drawings) set into pages with
//! a running header and a "page i of n" footer, then written by krilla. Text is shaped and
//! measured with rustybuzz on the same embedded fonts krilla subsets into the PDF, so what
//! is measured is what is drawn, and every word stays real, searchable text.
use super::ReportError;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
static MONO: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");

/// An RGB colour.
pub type Rgb = [u8; 3];
pub const INK: Rgb = [34, 34, 34];
pub const MUTED: Rgb = [100, 100, 100];
pub const RULE: Rgb = [200, 200, 200];
pub const ACCENT: Rgb = [31, 86, 150];

/// The three faces of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
    Mono,
}

/// The embedded fonts, for shaping (rustybuzz) and for the PDF (krilla).
pub struct Fonts {
    shape: [rustybuzz::Face<'static>; 3],
    pdf: [Font; 3],
}

impl Fonts {
    /// Loads the embedded fonts.
    pub fn load() -> Result<Fonts, ReportError> {
        let bad = || ReportError::Pdf("an embedded font cannot be read".into());
        let shape = [
            rustybuzz::Face::from_slice(REGULAR, 0).ok_or_else(bad)?,
            rustybuzz::Face::from_slice(BOLD, 0).ok_or_else(bad)?,
            rustybuzz::Face::from_slice(MONO, 0).ok_or_else(bad)?,
        ];
        let pdf = [
            Font::new(REGULAR.into(), 0).ok_or_else(bad)?,
            Font::new(BOLD.into(), 0).ok_or_else(bad)?,
            Font::new(MONO.into(), 0).ok_or_else(bad)?,
        ];
        Ok(Fonts { shape, pdf })
    }

    fn idx(face: Face) -> usize {
        match face {
            Face::Regular => 0,
            Face::Bold => 1,
            Face::Mono => 2,
        }
    }

    /// The advance width of `text` set in `face` at `size` pt.
    pub fn width(&self, face: Face, size: f32, text: &str) -> f32 {
        let f = &self.shape[Self::idx(face)];
        let mut buf = rustybuzz::UnicodeBuffer::new();
        buf.push_str(text);
        let glyphs = rustybuzz::shape(f, &[], buf);
        let units: i32 = glyphs.glyph_positions().iter().map(|p| p.x_advance).sum();
        units as f32 * size / f.units_per_em() as f32
    }

    /// Breaks `text` into lines no wider than `width` (words longer than a line are cut).
    pub fn wrap(&self, face: Face, size: f32, text: &str, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            for word in para.split(' ').filter(|w| !w.is_empty()) {
                let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
                if self.width(face, size, &candidate) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // A word wider than the line (a hash, a path) is cut where it must be.
                let mut rest = word.to_string();
                while self.width(face, size, &rest) > width && rest.chars().count() > 1 {
                    let mut n = rest.chars().count() - 1;
                    while n > 1 && self.width(face, size, &rest.chars().take(n).collect::<String>()) > width {
                        n = (n * 9 / 10).max(1).min(n - 1);
                    }
                    lines.push(rest.chars().take(n).collect());
                    rest = rest.chars().skip(n).collect();
                }
                line = rest;
            }
            lines.push(line);
        }
        lines
    }
}

/// One drawing command in a box's coordinates (pt, origin top-left, y down).
#[derive(Clone)]
pub enum Item {
    /// Text on a baseline; `anchor` 0 left, 0.5 centre, 1 right.
    Text {
        x: f32,
        y: f32,
        face: Face,
        size: f32,
        text: String,
        color: Rgb,
        anchor: f32,
    },
    Line {
        pts: Vec<(f32, f32)>,
        width: f32,
        color: Rgb,
        dash: bool,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<Rgb>,
        stroke: Option<(Rgb, f32)>,
        opacity: f32,
    },
    Image {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        image: krilla::image::Image,
    },
}

impl Item {
    fn shifted(&self, dx: f32, dy: f32) -> Item {
        let mut it = self.clone();
        match &mut it {
            Item::Text { x, y, .. } | Item::Rect { x, y, .. } | Item::Image { x, y, .. } => {
                *x += dx;
                *y += dy;
            }
            Item::Line { pts, .. } => pts.iter_mut().for_each(|p| *p = (p.0 + dx, p.1 + dy)),
        }
        it
    }
}

/// A fixed-size drawing (a plot, a picture with its colour bar) placed as one block.
#[derive(Clone, Default)]
pub struct Canvas {
    pub w: f32,
    pub h: f32,
    pub items: Vec<Item>,
}

impl Canvas {
    pub fn new(w: f32, h: f32) -> Canvas {
        Canvas { w, h, items: Vec::new() }
    }
    pub fn text(&mut self, x: f32, y: f32, face: Face, size: f32, text: impl Into<String>, anchor: f32) {
        self.items.push(Item::Text { x, y, face, size, text: text.into(), color: INK, anchor });
    }
    pub fn line(&mut self, pts: Vec<(f32, f32)>, width: f32, color: Rgb) {
        self.items.push(Item::Line { pts, width, color, dash: false });
    }
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Option<Rgb>, stroke: Option<(Rgb, f32)>) {
        self.items.push(Item::Rect { x, y, w, h, fill, stroke, opacity: 1.0 });
    }
    /// Places another canvas at (x, y) inside this one.
    pub fn place(&mut self, x: f32, y: f32, other: Canvas) {
        self.items.extend(other.items.iter().map(|i| i.shifted(x, y)));
    }
}

/// A table: column widths as fractions of the text width.
#[derive(Clone, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub widths: Vec<f32>,
    /// Columns set flush right (numbers).
    pub right: Vec<usize>,
    pub mono: bool,
    /// Set a size smaller (wide tables).
    pub small: bool,
}

/// A block of the text flow.
#[derive(Clone)]
pub enum Block {
    /// A section (level 1) or subsection (level 2) heading; kept with what follows.
    Heading(u8, String),
    Para(String),
    /// Small grey text (notes, sources).
    Note(String),
    Table(Table),
    Canvas(Canvas),
    Space(f32),
    PageBreak,
}

/// Paper and margins, pt.
#[derive(Debug, Clone, Copy)]
pub struct PageSize {
    pub w: f32,
    pub h: f32,
}

impl PageSize {
    pub fn of(paper: super::Paper) -> PageSize {
        match paper {
            super::Paper::A4 => PageSize { w: 595.28, h: 841.89 },
            super::Paper::Letter => PageSize { w: 612.0, h: 792.0 },
        }
    }
    pub const MARGIN: f32 = 56.0;
    /// The width of the text column.
    pub fn text_width(&self) -> f32 {
        self.w - 2.0 * Self::MARGIN
    }
}

const BODY: f32 = 9.5;
const LEAD: f32 = 1.38;
const TOP: f32 = 64.0;
const BOTTOM: f32 = 60.0;

/// Sets blocks into pages.
pub struct Doc<'f> {
    pub fonts: &'f Fonts,
    pub page: PageSize,
    pages: Vec<Vec<Item>>,
    y: f32,
}

impl<'f> Doc<'f> {
    pub fn new(fonts: &'f Fonts, page: PageSize) -> Doc<'f> {
        Doc { fonts, page, pages: vec![Vec::new()], y: TOP }
    }

    fn room(&self) -> f32 {
        self.page.h - BOTTOM - self.y
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    fn ensure(&mut self, h: f32) {
        if h > self.room() && self.y > TOP + 1.0 {
            self.new_page();
        }
    }

    fn push(&mut self, item: Item) {
        self.pages.last_mut().expect("a page").push(item);
    }

    fn text_line(&mut self, face: Face, size: f32, color: Rgb, x: f32, text: String) {
        let lh = size * LEAD;
        self.ensure(lh);
        self.push(Item::Text { x, y: self.y + size, face, size, text, color, anchor: 0.0 });
        self.y += lh;
    }

    /// Adds blocks in order.
    pub fn add(&mut self, blocks: Vec<Block>) {
        let mut i = 0;
        while i < blocks.len() {
            let b = &blocks[i];
            if let Block::Heading(level, text) = b {
                // A heading starts a page rather than end one.
                let next = match blocks.get(i + 1) {
                    Some(Block::Canvas(c)) => c.h,
                    Some(Block::Table(_)) => 60.0,
                    _ => 30.0,
                };
                let size = if *level == 1 { 15.0 } else { 11.5 };
                self.ensure(size * 2.2 + next.min(self.page.h * 0.5));
                self.y += if *level == 1 && self.y > TOP + 1.0 { 10.0 } else { 4.0 };
                self.text_line(
                    Face::Bold,
                    size,
                    if *level == 1 { ACCENT } else { INK },
                    PageSize::MARGIN,
                    text.clone(),
                );
                if *level == 1 {
                    let (x0, x1) = (PageSize::MARGIN, self.page.w - PageSize::MARGIN);
                    self.push(Item::Line {
                        pts: vec![(x0, self.y), (x1, self.y)],
                        width: 0.6,
                        color: RULE,
                        dash: false,
                    });
                }
                self.y += 5.0;
            } else {
                self.block(b);
            }
            i += 1;
        }
    }

    fn block(&mut self, b: &Block) {
        let width = self.page.text_width();
        match b {
            Block::Heading(..) => unreachable!("headings are set by add"),
            Block::Para(t) | Block::Note(t) => {
                let (size, color) = if matches!(b, Block::Note(_)) { (8.0, MUTED) } else { (BODY, INK) };
                for line in self.fonts.wrap(Face::Regular, size, t, width) {
                    self.text_line(Face::Regular, size, color, PageSize::MARGIN, line);
                }
                self.y += 4.0;
            }
            Block::Table(t) => self.table(t),
            Block::Canvas(c) => {
                self.ensure(c.h);
                let (dx, dy) = (PageSize::MARGIN + (width - c.w).max(0.0) / 2.0, self.y);
                for it in &c.items {
                    self.push(it.shifted(dx, dy));
                }
                self.y += c.h + 6.0;
            }
            Block::Space(h) => self.y += h,
            Block::PageBreak => {
                if self.y > TOP + 1.0 {
                    self.new_page()
                }
            }
        }
    }

    fn table(&mut self, t: &Table) {
        let width = self.page.text_width();
        let size = if t.mono || t.small { 7.5 } else { 8.5 };
        let face = if t.mono { Face::Mono } else { Face::Regular };
        let lh = size * 1.3;
        let pad = 2.5;
        let cols = t.widths.len().max(1);
        let total: f32 = t.widths.iter().sum::<f32>().max(1e-3);
        let xs: Vec<f32> =
            (0..=cols).map(|i| PageSize::MARGIN + width * t.widths.iter().take(i).sum::<f32>() / total).collect();
        let cell_lines = |row: &[String], face: Face| -> Vec<Vec<String>> {
            (0..cols)
                .map(|c| {
                    let w = xs[c + 1] - xs[c] - 2.0 * pad - 2.0;
                    self.fonts.wrap(face, size, row.get(c).map(String::as_str).unwrap_or(""), w)
                })
                .collect()
        };
        let header = (!t.header.is_empty()).then(|| cell_lines(&t.header, Face::Bold));
        let draw_row = |doc: &mut Doc, lines: &[Vec<String>], face: Face, shade: bool| {
            let n = lines.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let h = n as f32 * lh + 2.0 * pad;
            if shade {
                doc.push(Item::Rect {
                    x: xs[0],
                    y: doc.y,
                    w: xs[cols] - xs[0],
                    h,
                    fill: Some([243, 245, 248]),
                    stroke: None,
                    opacity: 1.0,
                });
            }
            for (c, cl) in lines.iter().enumerate() {
                for (k, l) in cl.iter().enumerate() {
                    let right = t.right.contains(&c);
                    let x = if right { xs[c + 1] - pad - 1.0 } else { xs[c] + pad + 1.0 };
                    doc.push(Item::Text {
                        x,
                        y: doc.y + pad + size + k as f32 * lh,
                        face,
                        size,
                        text: l.clone(),
                        color: INK,
                        anchor: if right { 1.0 } else { 0.0 },
                    });
                }
            }
            doc.y += h;
            doc.push(Item::Line { pts: vec![(xs[0], doc.y), (xs[cols], doc.y)], width: 0.3, color: RULE, dash: false });
        };
        let row_h =
            |lines: &[Vec<String>]| lines.iter().map(Vec::len).max().unwrap_or(1).max(1) as f32 * lh + 2.0 * pad;
        let head_h = header.as_ref().map(|h| row_h(h)).unwrap_or(0.0);
        let first = t.rows.first().map(|r| row_h(&cell_lines(r, face))).unwrap_or(0.0);
        self.ensure(head_h + first);
        if let Some(h) = &header {
            draw_row(self, h, Face::Bold, false);
        }
        for (i, r) in t.rows.iter().enumerate() {
            let lines = cell_lines(r, face);
            if row_h(&lines) > self.room() {
                self.new_page();
                if let Some(h) = &header {
                    draw_row(self, h, Face::Bold, false);
                }
            }
            draw_row(self, &lines, face, i % 2 == 1);
        }
        self.y += 8.0;
    }

    /// Writes the pages with the running header `title` and the footer.
    pub fn finish(
        self,
        title: &str,
        footer: &str,
        metadata: krilla::metadata::Metadata,
    ) -> Result<Vec<u8>, ReportError> {
        let mut doc = krilla::Document::new();
        doc.set_metadata(metadata);
        let n = self.pages.len();
        for (i, items) in self.pages.iter().enumerate() {
            let settings = krilla::page::PageSettings::from_wh(self.page.w, self.page.h)
                .ok_or_else(|| ReportError::Pdf("bad page size".into()))?;
            let mut page = doc.start_page_with(settings);
            let mut s = page.surface();
            let (x0, x1) = (PageSize::MARGIN, self.page.w - PageSize::MARGIN);
            let mut chrome = vec![
                Item::Text {
                    x: x0,
                    y: 36.0,
                    face: Face::Regular,
                    size: 7.5,
                    text: title.into(),
                    color: MUTED,
                    anchor: 0.0,
                },
                Item::Line { pts: vec![(x0, 42.0), (x1, 42.0)], width: 0.4, color: RULE, dash: false },
                Item::Text {
                    x: x0,
                    y: self.page.h - 30.0,
                    face: Face::Regular,
                    size: 7.5,
                    text: footer.into(),
                    color: MUTED,
                    anchor: 0.0,
                },
                Item::Text {
                    x: x1,
                    y: self.page.h - 30.0,
                    face: Face::Regular,
                    size: 7.5,
                    text: format!("page {} of {n}", i + 1),
                    color: MUTED,
                    anchor: 1.0,
                },
            ];
            if i == 0 {
                chrome.drain(..2);
            }
            for it in chrome.iter().chain(items) {
                draw(&mut s, self.fonts, it);
            }
            s.finish();
            page.finish();
        }
        doc.finish().map_err(|e| ReportError::Pdf(format!("{e:?}")))
    }
}

fn fill(c: Rgb, opacity: f32) -> Fill {
    Fill {
        paint: rgb::Color::new(c[0], c[1], c[2]).into(),
        opacity: NormalizedF32::new(opacity.clamp(0.0, 1.0)).unwrap_or(NormalizedF32::ONE),
        ..Fill::default()
    }
}

fn draw(s: &mut krilla::surface::Surface, fonts: &Fonts, it: &Item) {
    match it {
        Item::Text { x, y, face, size, text, color, anchor } => {
            if text.is_empty() {
                return;
            }
            let w = if *anchor > 0.0 { fonts.width(*face, *size, text) } else { 0.0 };
            s.set_fill(Some(fill(*color, 1.0)));
            s.set_stroke(None);
            let font = fonts.pdf[Fonts::idx(*face)].clone();
            s.draw_text(Point::from_xy(x - w * anchor, *y), font, *size, text, false, TextDirection::Auto);
        }
        Item::Line { pts, width, color, dash } => {
            if pts.len() < 2 {
                return;
            }
            let mut pb = PathBuilder::new();
            pb.move_to(pts[0].0, pts[0].1);
            for p in &pts[1..] {
                pb.line_to(p.0, p.1);
            }
            let Some(path) = pb.finish() else { return };
            s.set_fill(None);
            s.set_stroke(Some(Stroke {
                paint: rgb::Color::new(color[0], color[1], color[2]).into(),
                width: *width,
                line_join: krilla::paint::LineJoin::Round,
                dash: dash.then(|| krilla::paint::StrokeDash { array: vec![3.0, 2.0], offset: 0.0 }),
                ..Stroke::default()
            }));
            s.draw_path(&path);
            s.set_stroke(None);
        }
        Item::Rect { x, y, w, h, fill: f, stroke, opacity } => {
            let Some(rect) = krilla::geom::Rect::from_xywh(*x, *y, w.max(0.01), h.max(0.01)) else { return };
            let mut pb = PathBuilder::new();
            pb.push_rect(rect);
            let Some(path) = pb.finish() else { return };
            s.set_fill(f.map(|c| fill(c, *opacity)));
            s.set_stroke(stroke.map(|(c, width)| Stroke {
                paint: rgb::Color::new(c[0], c[1], c[2]).into(),
                width,
                ..Stroke::default()
            }));
            s.draw_path(&path);
            s.set_stroke(None);
        }
        Item::Image { x, y, w, h, image } => {
            let Some(size) = Size::from_wh(*w, *h) else { return };
            s.push_transform(&Transform::from_translate(*x, *y));
            s.draw_image(image.clone(), size);
            s.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_and_wraps() {
        let f = Fonts::load().unwrap();
        let w = f.width(Face::Regular, 10.0, "Drag coefficient");
        assert!(w > 60.0 && w < 110.0, "{w}");
        assert!(f.width(Face::Bold, 10.0, "Cd") > f.width(Face::Regular, 10.0, "Cd"));
        let lines = f.wrap(Face::Regular, 10.0, "one two three four five six seven eight nine ten", 60.0);
        assert!(lines.len() > 2 && lines.iter().all(|l| f.width(Face::Regular, 10.0, l) <= 60.0), "{lines:?}");
        let long = "a".repeat(200);
        let cut = f.wrap(Face::Mono, 8.0, &long, 100.0);
        assert!(cut.len() > 3 && cut.concat() == long, "{cut:?}");
    }

    #[test]
    fn a_long_table_breaks_across_pages_and_the_text_is_searchable() {
        let f = Fonts::load().unwrap();
        let mut d = Doc::new(&f, PageSize::of(crate::report::Paper::A4));
        let rows: Vec<Vec<String>> = (0..150).map(|i| vec![format!("patch{i}"), format!("{i}.5")]).collect();
        d.add(vec![
            Block::Heading(1, "Forces".into()),
            Block::Table(Table {
                header: vec!["patch".into(), "Cd".into()],
                rows,
                widths: vec![3.0, 1.0],
                right: vec![1],
                mono: false,
                small: false,
            }),
        ]);
        assert!(d.pages.len() >= 2);
        let pdf = d.finish("t", "f", krilla::metadata::Metadata::new()).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
