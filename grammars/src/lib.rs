//! Parsing and lowering: one [`Lang`] enum, one extension table that drives
//! both file discovery and parser choice, and one front-end per language that
//! lowers a tree-sitter CST to the shared [`faultline_ir::Module`].
//!
//! ```
//! use faultline_grammars::{Lang, lower};
//! let lang = Lang::from_path(std::path::Path::new("svc/api.py")).unwrap();
//! let module = lower(lang, "import requests\nrequests.get('https://x')\n").unwrap();
//! assert_eq!(module.functions.len(), 1);
//! ```

use std::cell::RefCell;
use std::path::Path;

use faultline_ir::{Language, Module};
use thiserror::Error;

#[cfg(feature = "python")]
pub mod python;
#[cfg(feature = "rust")]
pub mod rust;
#[cfg(feature = "typescript")]
pub mod typescript;

mod util;

/// A language faultline can parse. TSX and JavaScript (with JSX) are parsed
/// with their own grammars and share the TypeScript front-end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    /// Python.
    Python,
    /// TypeScript without JSX.
    TypeScript,
    /// TypeScript with JSX.
    Tsx,
    /// JavaScript (JSX allowed).
    JavaScript,
    /// Rust.
    Rust,
}

/// The one extension table: discovery and parser choice both read it.
const EXTENSIONS: &[(&str, Lang)] = &[
    ("py", Lang::Python),
    ("pyi", Lang::Python),
    ("ts", Lang::TypeScript),
    ("mts", Lang::TypeScript),
    ("cts", Lang::TypeScript),
    ("tsx", Lang::Tsx),
    ("js", Lang::JavaScript),
    ("jsx", Lang::JavaScript),
    ("mjs", Lang::JavaScript),
    ("cjs", Lang::JavaScript),
    ("rs", Lang::Rust),
];

impl Lang {
    /// Every language, in a stable order.
    pub const ALL: &'static [Lang] = &[
        Lang::Python,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::JavaScript,
        Lang::Rust,
    ];

    /// The file extensions (without dot) of this language.
    pub fn extensions(self) -> impl Iterator<Item = &'static str> {
        EXTENSIONS
            .iter()
            .filter(move |(_, l)| *l == self)
            .map(|(e, _)| *e)
    }

    /// Every extension faultline scans.
    pub fn all_extensions() -> impl Iterator<Item = &'static str> {
        EXTENSIONS.iter().map(|(e, _)| *e)
    }

    /// The language of a file extension (without dot, case-sensitive).
    pub fn from_extension(ext: &str) -> Option<Lang> {
        EXTENSIONS.iter().find(|(e, _)| *e == ext).map(|(_, l)| *l)
    }

    /// The language of a path, from its extension. `.d.ts` declaration files
    /// hold no code and are not scanned.
    pub fn from_path(path: &Path) -> Option<Lang> {
        let name = path.file_name()?.to_str()?;
        if name.ends_with(".d.ts") || name.ends_with(".d.mts") || name.ends_with(".d.cts") {
            return None;
        }
        Lang::from_extension(path.extension()?.to_str()?)
    }

    /// A short lowercase name (`python`, `typescript`, `tsx`, `javascript`, `rust`).
    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::JavaScript => "javascript",
            Lang::Rust => "rust",
        }
    }

    /// The IR's view of this language.
    pub fn ir(self) -> Language {
        match self {
            Lang::Python => Language::Python,
            Lang::TypeScript => Language::TypeScript,
            Lang::Tsx => Language::Tsx,
            Lang::JavaScript => Language::JavaScript,
            Lang::Rust => Language::Rust,
        }
    }

    /// The tree-sitter grammar.
    pub fn ts_language(self) -> Result<tree_sitter::Language, GrammarError> {
        match self {
            #[cfg(feature = "python")]
            Lang::Python => Ok(tree_sitter_python::LANGUAGE.into()),
            #[cfg(feature = "typescript")]
            Lang::TypeScript => Ok(tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into()),
            #[cfg(feature = "typescript")]
            Lang::Tsx => Ok(tree_sitter_typescript::LANGUAGE_TSX.into()),
            #[cfg(feature = "typescript")]
            Lang::JavaScript => Ok(tree_sitter_javascript::LANGUAGE.into()),
            #[cfg(feature = "rust")]
            Lang::Rust => Ok(tree_sitter_rust::LANGUAGE.into()),
            #[allow(unreachable_patterns)]
            _ => Err(GrammarError::Disabled(self.name())),
        }
    }
}

/// Why a file could not be parsed at all. Syntax errors are *not* this: the
/// parser recovers and they are recorded in [`Module::syntax_errors`].
#[derive(Debug, Error)]
pub enum GrammarError {
    /// The grammar was compiled out.
    #[error("support for {0} was not compiled into this build")]
    Disabled(&'static str),
    /// tree-sitter rejected the grammar (a version mismatch).
    #[error("the {lang} grammar could not be loaded: {message}")]
    Language {
        /// The language.
        lang: &'static str,
        /// tree-sitter's message.
        message: String,
    },
    /// tree-sitter gave up (timeout or cancellation).
    #[error("the parser returned no tree")]
    NoTree,
}

thread_local! {
    static PARSERS: RefCell<Vec<(Lang, tree_sitter::Parser)>> = const { RefCell::new(Vec::new()) };
}

/// Parses `src` with a parser reused per thread and language.
pub fn parse(lang: Lang, src: &str) -> Result<tree_sitter::Tree, GrammarError> {
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        let idx = match parsers.iter().position(|(l, _)| *l == lang) {
            Some(i) => i,
            None => {
                let mut p = tree_sitter::Parser::new();
                p.set_language(&lang.ts_language()?)
                    .map_err(|e| GrammarError::Language {
                        lang: lang.name(),
                        message: e.to_string(),
                    })?;
                parsers.push((lang, p));
                parsers.len() - 1
            }
        };
        parsers[idx].1.parse(src, None).ok_or(GrammarError::NoTree)
    })
}

/// What lowering may leave out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LowerOptions {
    /// Lower code that only builds for tests (Rust `#[cfg(test)]` modules
    /// and `#[test]` function bodies). Without it they are left out: no
    /// rule that runs reports there, and code outside them cannot use them.
    pub test_code: bool,
}

impl Default for LowerOptions {
    fn default() -> Self {
        LowerOptions { test_code: true }
    }
}

/// Parses and lowers `src` to the IR. Syntax errors are recovered from and
/// recorded in the module.
pub fn lower(lang: Lang, src: &str) -> Result<Module, GrammarError> {
    lower_with(lang, src, LowerOptions::default())
}

/// [`lower`], leaving out what `options` allow.
pub fn lower_with(lang: Lang, src: &str, options: LowerOptions) -> Result<Module, GrammarError> {
    let tree = parse(lang, src)?;
    // Each front-end records the tree's syntax errors itself; Python drops
    // the tree before it resolves names.
    let mut module = match lang {
        #[cfg(feature = "python")]
        Lang::Python => python::lower(tree, src),
        #[cfg(feature = "typescript")]
        Lang::TypeScript | Lang::Tsx | Lang::JavaScript => typescript::lower(&tree, src, lang.ir()),
        #[cfg(feature = "rust")]
        Lang::Rust => rust::lower_with(&tree, src, options.test_code),
        #[allow(unreachable_patterns)]
        _ => return Err(GrammarError::Disabled(lang.name())),
    };
    module.link();
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_parses_and_lowers_empty_input() {
        for &lang in Lang::ALL {
            let m = lower(lang, "").unwrap();
            assert_eq!(m.language, lang.ir());
            assert!(lang.extensions().count() >= 1);
            for ext in lang.extensions() {
                assert_eq!(Lang::from_extension(ext), Some(lang));
            }
        }
    }

    #[test]
    fn declaration_files_are_not_scanned() {
        assert_eq!(Lang::from_path(Path::new("a/index.d.ts")), None);
        assert_eq!(
            Lang::from_path(Path::new("a/index.ts")),
            Some(Lang::TypeScript)
        );
        assert_eq!(Lang::from_path(Path::new("a/Makefile")), None);
    }
}
