//! The bundled fonts, parsed once and shared by every renderer.

use std::fmt;
use std::sync::Arc;

use usvg::fontdb;

use crate::glyphs::GlyphRaster;

static NANUM_GOTHIC: &[u8] = include_bytes!("../fonts/NanumGothic.ttf");
static NANUM_GOTHIC_BOLD: &[u8] = include_bytes!("../fonts/NanumGothicBold.ttf");
static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static DEJAVU_SANS_BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");
/// The bundled fonts (NanumGothic for Latin and Hangul, DejaVu Sans for
/// Arabic, Cyrillic, Greek and more), parsed once and shared.
#[derive(Clone)]
pub struct Fonts {
    pub(crate) db: Arc<fontdb::Database>,
    pub(crate) glyphs: Arc<GlyphRaster>,
}

impl Fonts {
    pub fn bundled() -> Fonts {
        let all = [
            NANUM_GOTHIC,
            NANUM_GOTHIC_BOLD,
            DEJAVU_SANS,
            DEJAVU_SANS_BOLD,
        ];
        let mut db = fontdb::Database::new();
        for data in all {
            db.load_font_source(fontdb::Source::Binary(Arc::new(data)));
        }
        db.set_sans_serif_family("NanumGothic");
        Fonts {
            db: Arc::new(db),
            glyphs: Arc::new(GlyphRaster::new(all)),
        }
    }
}

impl fmt::Debug for Fonts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fonts({} faces)", self.db.len())
    }
}
