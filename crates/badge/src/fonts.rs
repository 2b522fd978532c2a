//! The fonts badges are drawn with, parsed once and shared by every renderer.
//!
//! A character is drawn with the first face of this chain that has it:
//! 1. NanumGothic (Latin, Hangul, common Hanja, kana) and DejaVu Sans
//!    (Cyrillic, Greek, Arabic, Hebrew, Armenian, Georgian and more), bold
//!    faces first for names;
//! 2. the bundled fallbacks: Noto Sans for the scripts of South and
//!    South-East Asia and Ethiopia, and Droid Sans Fallback for CJK
//!    ideographs;
//! 3. the font files the configuration names;
//! 4. the fonts installed on the system (fontconfig's directories, through
//!    fontdb), unless the configuration turns them off.
//!
//! A name none of them can draw is refused at sign-up ([`Fonts::missing`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use usvg::fontdb;

use crate::error::BadgeError;
use crate::glyphs::{GlyphRaster, LoadedFace};

static NANUM_GOTHIC: &[u8] = include_bytes!("../fonts/NanumGothic.ttf");
static NANUM_GOTHIC_BOLD: &[u8] = include_bytes!("../fonts/NanumGothicBold.ttf");
static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static DEJAVU_SANS_BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// The first faces tried, at fixed indices (the raster path relies on them).
const CORE: [&[u8]; 4] = [
    NANUM_GOTHIC,
    NANUM_GOTHIC_BOLD,
    DEJAVU_SANS,
    DEJAVU_SANS_BOLD,
];

/// The bundled fallbacks, in the order they are tried.
const FALLBACK: [&[u8]; 15] = [
    include_bytes!("../fonts/NotoSansThai-Regular.ttf"),
    include_bytes!("../fonts/NotoSansDevanagari-Regular.ttf"),
    include_bytes!("../fonts/NotoSansBengali-Regular.ttf"),
    include_bytes!("../fonts/NotoSansTamil-Regular.ttf"),
    include_bytes!("../fonts/NotoSansTelugu-Regular.ttf"),
    include_bytes!("../fonts/NotoSansGujarati-Regular.ttf"),
    include_bytes!("../fonts/NotoSansGurmukhi-Regular.ttf"),
    include_bytes!("../fonts/NotoSansKannada-Regular.ttf"),
    include_bytes!("../fonts/NotoSansMalayalam-Regular.ttf"),
    include_bytes!("../fonts/NotoSansSinhala-Regular.ttf"),
    include_bytes!("../fonts/NotoSansKhmer-Regular.ttf"),
    include_bytes!("../fonts/NotoSansLao-Regular.ttf"),
    include_bytes!("../fonts/NotoSansMyanmar-Regular.ttf"),
    include_bytes!("../fonts/NotoSansEthiopic-Regular.ttf"),
    include_bytes!("../fonts/DroidSansFallbackFull.ttf"),
];

/// Fonts beyond the bundled ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FontSources {
    /// TrueType/OpenType files (or collections), tried in this order after
    /// the bundled faces.
    pub files: Vec<PathBuf>,
    /// Whether the fonts installed on the system are tried last.
    pub installed: bool,
}

/// The font chain, parsed once and shared.
#[derive(Clone)]
pub struct Fonts {
    pub(crate) db: Arc<fontdb::Database>,
    pub(crate) glyphs: Arc<GlyphRaster>,
}

impl Fonts {
    /// The bundled faces alone: the same on every machine.
    pub fn bundled() -> Fonts {
        Fonts::build(Vec::new(), false)
    }

    /// The bundled faces, then `sources`. Reads the configured files and
    /// lists the installed fonts (each is read only if a character needs it).
    pub fn load(sources: &FontSources) -> Result<Fonts, BadgeError> {
        let mut files = Vec::new();
        for path in &sources.files {
            let data = std::fs::read(path).map_err(|e| font_error(path, &e.to_string()))?;
            // Configured fonts live as long as the process: faces borrow
            // their bytes, and fonts are loaded once, at start.
            let data: &'static [u8] = Box::leak(data.into_boxed_slice());
            let count = fontdb_count(data);
            if count == 0 {
                return Err(font_error(path, "not a TrueType or OpenType font"));
            }
            files.push(data);
        }
        let fonts = Fonts::build(files, sources.installed);
        fonts.glyphs.index_installed();
        Ok(fonts)
    }

    fn build(files: Vec<&'static [u8]>, installed: bool) -> Fonts {
        let mut db = fontdb::Database::new();
        let mut faces = Vec::new();
        for data in CORE.iter().chain(&FALLBACK).chain(&files) {
            db.load_font_source(fontdb::Source::Binary(Arc::new(*data)));
            for index in 0..fontdb_count(data).max(1) {
                if let Some(face) = LoadedFace::parse(data, index) {
                    faces.push(face);
                }
            }
        }
        db.set_sans_serif_family("NanumGothic");
        // usvg tries faces in the order they were loaded, so the installed
        // fonts come after the bundled and configured ones there too.
        let system = installed.then(|| {
            let mut system = fontdb::Database::new();
            system.load_system_fonts();
            for face in system.faces() {
                db.push_face_info(face.clone());
            }
            system
        });
        Fonts {
            db: Arc::new(db),
            glyphs: Arc::new(GlyphRaster::new(faces, system)),
        }
    }

    /// The characters of `text` no font of the chain can draw, each once.
    /// Spaces and invisible shaping controls (joiners, variation
    /// selectors) need no glyph and are never listed.
    pub fn missing(&self, text: &str) -> Vec<char> {
        self.glyphs.missing(text)
    }
}

fn fontdb_count(data: &[u8]) -> u32 {
    rustybuzz::ttf_parser::fonts_in_collection(data)
        .unwrap_or_else(|| u32::from(rustybuzz::ttf_parser::Face::parse(data, 0).is_ok()))
}

fn font_error(path: &Path, reason: &str) -> BadgeError {
    BadgeError::Font(format!("font {}: {reason}", path.display()))
}

impl fmt::Debug for Fonts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fonts({} faces)", self.db.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_chain_draws_the_names_of_many_scripts() {
        let fonts = Fonts::bundled();
        for name in [
            "สมชาย ใจดี",
            "राम शर्मा",
            "রবীন্দ্রনাথ",
            "தமிழ்செல்வன்",
            "వెంకట",
            "ગાંધી",
            "ਸਿੰਘ",
            "ಕನ್ನಡ",
            "മലയാളം",
            "සිංහල",
            "សុខា",
            "ສົມພອນ",
            "မြန်မာ",
            "አበበ",
            "学 会 张伟 刘 辺",
            "홍길동",
            "Zoë Ångström",
            "Дмитрий",
            "محمد",
            "שרה",
            "ნინო",
        ] {
            assert_eq!(fonts.missing(name), Vec::<char>::new(), "{name}");
        }
        let ideographs = (0x4E00..=0x9FFF)
            .filter_map(char::from_u32)
            .filter(|c| fonts.missing(&c.to_string()).is_empty())
            .count();
        assert!(ideographs > 20_000, "{ideographs} of 20 992 CJK ideographs");
    }

    #[test]
    fn what_cannot_be_drawn_is_named_once_and_joiners_are_not() {
        let fonts = Fonts::bundled();
        assert_eq!(fonts.missing("Ann 🦄🦄 😀"), vec!['🦄']);
        // A ZWJ sequence: the pictographs are missing, the joiner and the
        // variation selector need no glyph.
        assert_eq!(fonts.missing("👩\u{200D}💻 x\u{FE0F}"), vec!['👩', '💻']);
        assert_eq!(fonts.missing("\u{E000}"), vec!['\u{E000}']);
    }

    #[test]
    fn a_configured_file_joins_the_chain_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.ttf");
        std::fs::write(&bad, b"not a font").unwrap();
        let err = Fonts::load(&FontSources {
            files: vec![bad.clone()],
            installed: false,
        })
        .unwrap_err();
        assert!(err.to_string().contains("bad.ttf"), "{err}");
        let missing = dir.path().join("missing.ttf");
        assert!(Fonts::load(&FontSources {
            files: vec![missing],
            installed: false,
        })
        .is_err());
    }

    /// Needs Debian's fonts-symbola installed (scripts/test installs it):
    /// an installed font with pictographs none of the bundled faces has.
    #[test]
    fn installed_fonts_are_the_last_link() {
        const SYMBOLA: &str = "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf";
        assert!(
            Path::new(SYMBOLA).exists(),
            "{SYMBOLA} is missing: apt-get install fonts-symbola (scripts/test does)"
        );
        let bundled = Fonts::bundled();
        let installed = Fonts::load(&FontSources {
            files: Vec::new(),
            installed: true,
        })
        .unwrap();
        assert_eq!(bundled.missing("Ann 🦄"), vec!['🦄']);
        assert_eq!(installed.missing("Ann 🦄"), Vec::<char>::new());
        // The glyph is drawn from the installed face, loaded on first need.
        let shaped = installed.glyphs.shape("🦄", true, 40.0);
        let g = shaped.glyphs[0];
        assert!(g.face as usize >= CORE.len() + FALLBACK.len(), "{}", g.face);
        assert_ne!(g.glyph, 0, "not the missing-glyph box");
        // A configured file is tried before the installed fonts.
        let configured = Fonts::load(&FontSources {
            files: vec![PathBuf::from(SYMBOLA)],
            installed: false,
        })
        .unwrap();
        assert_eq!(configured.missing("🦄"), Vec::<char>::new());
        // Nothing draws this one (a pictograph of 2021, after Symbola).
        assert_eq!(installed.missing("🫠"), vec!['🫠']);
    }
}
