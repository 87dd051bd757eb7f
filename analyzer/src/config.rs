//! Project configuration: `faultline.toml`, or the `[tool.faultline]` table
//! of `pyproject.toml`.
//!
//! [`discover`] looks for it upward from the first scanned path (in each
//! directory `faultline.toml` wins over `pyproject.toml`, and a
//! `pyproject.toml` without a `[tool.faultline]` table is passed over);
//! `--config FILE` names one instead. Every key is optional:
//!
//! ```toml
//! select = ["external-call"]                 # rule ids or families (default: all)
//! ignore = ["external-call/missing-timeout"] # removed after `select`
//! exclude = ["migrations/**", "**/*_pb2.py"] # gitignore-style globs, relative to this file
//! max-file-size = 4194304                    # bytes (default 2 MiB)
//!
//! [rules."external-call/swallowed-error"]    # a rule id, a family, or faultline/suppression
//! level = "error"                            # error | warning | note | off
//!
//! [[zones]]                                  # risk zones: findings inside are raised one level
//! name = "payments"
//! paths = ["**/billing/**", "**/payments/**"]
//!
//! [[models]]                                 # your own APIs, in the format of rules/models/*.toml
//! language = "python"
//! package = "acme-http"
//! [[models.calls]]
//! patterns = ["acme.http.{get,post}()"]
//! kind = "http"
//! timeout = { kwarg = "timeout" }
//!
//! [[models]]                                 # tables that stay small, and your own
//! language = "python"                        # request-handler decorator and headers
//! package = "acme-app"
//! small_tables = ["Channel", "Warehouse"]    # whole-table loads are not query/unbounded
//! [models.request_context.handlers]
//! decorators = ["acme_endpoint"]
//! [models.request_context.headers]
//! identity = ["x-acme-user"]
//! ```
//!
//! Unknown keys are errors that name the key and the file. The command line
//! wins over the file: `--select` replaces `select`, `--ignore` adds to
//! `ignore`, `--max-file-size` replaces `max-file-size`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use faultline_rules::Level;
use faultline_rules::models::{ModelError, Models};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use thiserror::Error;

use crate::engine::{DEFAULT_MAX_FILE_SIZE, ScanOptions, select_rules};

/// The file names searched for, in order, in each directory.
pub const FILE_NAMES: [&str; 2] = ["faultline.toml", "pyproject.toml"];

/// The pseudo-rule that reports suppression comments with no reason, no
/// rule id, or nothing to suppress.
pub const SUPPRESSION_RULE: &str = "faultline/suppression";

/// Why a configuration could not be used. The CLI exits with 2.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed, or a key is unknown or has the wrong type.
    #[error("invalid configuration in `{}`: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (names the key).
        message: String,
    },
    /// A user model does not load.
    #[error("invalid `[[models]]` in `{}`: {source}", path.display())]
    Model {
        /// The file.
        path: PathBuf,
        /// The model loader's error.
        source: ModelError,
    },
}

/// A `level` of `[rules."ID"]`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LevelSetting {
    /// Report at `error`.
    Error,
    /// Report at `warning`.
    Warning,
    /// Report at `note`.
    Note,
    /// Do not run the rule.
    Off,
}

impl LevelSetting {
    /// The level, or `None` for `off`.
    pub fn level(self) -> Option<Level> {
        match self {
            LevelSetting::Error => Some(Level::Error),
            LevelSetting::Warning => Some(Level::Warning),
            LevelSetting::Note => Some(Level::Note),
            LevelSetting::Off => None,
        }
    }
}

/// `[rules."ID"]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RuleSettings {
    /// The level findings of this rule are reported at, or `off`.
    pub level: Option<LevelSetting>,
}

/// `[[zones]]`: a risk zone.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ZoneSettings {
    /// Its name, shown beside every finding inside it.
    pub name: String,
    /// Gitignore-style globs relative to the configuration file's directory.
    pub paths: Vec<String>,
}

/// The configuration as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Rules or families to run (default: all).
    #[serde(default)]
    pub select: Vec<String>,
    /// Rules or families not to run.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Globs of files and directories not to scan.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Files larger than this are skipped.
    pub max_file_size: Option<u64>,
    /// Per-rule settings, by rule id or family.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleSettings>,
    /// Risk zones.
    #[serde(default)]
    pub zones: Vec<ZoneSettings>,
    /// User API models, each in the format of `rules/models/*.toml`.
    #[serde(default)]
    pub models: Vec<toml::Table>,
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<PyprojectTool>,
}

#[derive(Deserialize)]
struct PyprojectTool {
    faultline: Option<Config>,
}

/// A configuration and where it came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The file.
    pub path: PathBuf,
    /// Its directory: relative globs are relative to it.
    pub dir: PathBuf,
    /// What it says.
    pub config: Config,
}

/// Looks for a configuration upward from `start` (a file or directory).
/// Returns `Ok(None)` when there is none.
pub fn discover(start: &Path) -> Result<Option<Loaded>, ConfigError> {
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    let mut dir = if start.is_dir() {
        Some(start.as_path())
    } else {
        start.parent()
    };
    while let Some(d) = dir {
        for name in FILE_NAMES {
            let candidate = d.join(name);
            if candidate.is_file()
                && let Some(loaded) = load_inner(&candidate, name == "pyproject.toml")?
            {
                return Ok(Some(loaded));
            }
        }
        dir = d.parent();
    }
    Ok(None)
}

/// Loads a configuration file named on the command line: `pyproject.toml`
/// (by name) is read for its `[tool.faultline]` table, anything else as a
/// `faultline.toml`.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    match load_inner(path, is_pyproject)? {
        Some(loaded) => Ok(loaded),
        None => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            message: "there is no `[tool.faultline]` table".to_string(),
        }),
    }
}

fn load_inner(path: &Path, pyproject: bool) -> Result<Option<Loaded>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |e: toml::de::Error| ConfigError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    };
    let config = if pyproject {
        let doc: Pyproject = toml::from_str(&text).map_err(invalid)?;
        match doc.tool.and_then(|t| t.faultline) {
            Some(c) => c,
            None => return Ok(None),
        }
    } else {
        toml::from_str(&text).map_err(invalid)?
    };
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    Ok(Some(Loaded {
        path: path.to_path_buf(),
        dir,
        config,
    }))
}

impl Loaded {
    fn invalid(&self, message: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            message,
        }
    }

    /// The API models: the built-ins plus `[[models]]`, or `None` when the
    /// file declares none.
    pub fn models(&self) -> Result<Option<Models>, ConfigError> {
        if self.config.models.is_empty() {
            return Ok(None);
        }
        let mut texts = Vec::new();
        for (i, table) in self.config.models.iter().enumerate() {
            let text = toml::to_string(table).map_err(|e| self.invalid(e.to_string()))?;
            texts.push((
                format!("{} [[models]] #{}", self.path.display(), i + 1),
                text,
            ));
        }
        let files: Vec<(&str, &str)> = texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        Models::with_user(&files)
            .map(Some)
            .map_err(|source| ConfigError::Model {
                path: self.path.clone(),
                source,
            })
    }

    /// The compiled risk zones.
    pub fn zones(&self) -> Result<Zones, ConfigError> {
        let mut zones = Vec::new();
        for z in &self.config.zones {
            if z.name.trim().is_empty() {
                return Err(self.invalid("a `[[zones]]` entry has an empty `name`".to_string()));
            }
            let globs = glob_set(&z.paths).map_err(|e| {
                self.invalid(format!(
                    "`[[zones]]` `{}`: bad glob in `paths`: {e}",
                    z.name
                ))
            })?;
            zones.push(Zone {
                name: z.name.clone(),
                globs,
                patterns: z.paths.clone(),
            });
        }
        Ok(Zones {
            base: self.dir.clone(),
            zones,
        })
    }

    /// Checks `exclude` globs, returning them unchanged.
    pub fn exclude(&self) -> Result<Vec<String>, ConfigError> {
        for g in &self.config.exclude {
            ignore::overrides::OverrideBuilder::new(&self.dir)
                .add(&format!("!{g}"))
                .map_err(|e| self.invalid(format!("bad glob in `exclude`: {e}")))?;
        }
        Ok(self.config.exclude.clone())
    }

    /// Per-rule levels, with `off` rules listed separately; each key must be
    /// a rule id of `catalog`, a family, or [`SUPPRESSION_RULE`].
    pub fn levels(&self, catalog: &[&'static str]) -> Result<RuleLevels, ConfigError> {
        let mut out = RuleLevels::default();
        for (key, settings) in &self.config.rules {
            let family = key.strip_suffix('/').unwrap_or(key);
            let known = catalog.contains(&key.as_str())
                || key == SUPPRESSION_RULE
                || crate::engine::families()
                    .iter()
                    .any(|f| f.as_str() == family);
            if !known {
                let names = crate::engine::families()
                    .iter()
                    .map(|f| f.as_str())
                    .chain(catalog.iter().copied());
                let close = crate::engine::select::close_matches(key, names);
                let hint = match close.first() {
                    Some(c) => format!("; did you mean `{c}`?"),
                    None => String::new(),
                };
                return Err(self.invalid(format!(
                    "unknown rule or family `{key}` in `[rules.\"{key}\"]`{hint}"
                )));
            }
            match settings.level {
                Some(LevelSetting::Off) => out.off.push(key.clone()),
                Some(l) => {
                    if let Some(level) = l.level() {
                        out.levels.insert(family.to_string(), level);
                    }
                }
                None => {}
            }
        }
        Ok(out)
    }
}

/// Level overrides from `[rules."ID"] level = …`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleLevels {
    /// Rule id or family → level. A rule id wins over its family.
    pub levels: BTreeMap<String, Level>,
    /// Rules and families set to `off`.
    pub off: Vec<String>,
}

impl RuleLevels {
    /// The configured level of a rule, if any.
    pub fn level_of(&self, rule: &str) -> Option<Level> {
        self.levels.get(rule).copied().or_else(|| {
            rule.split_once('/')
                .and_then(|(family, _)| self.levels.get(family).copied())
        })
    }
    /// Whether the suppression pseudo-rule is off.
    pub fn suppression_off(&self) -> bool {
        self.off
            .iter()
            .any(|o| o == SUPPRESSION_RULE || o == "faultline")
    }
}

/// One compiled risk zone.
#[derive(Clone, Debug)]
pub struct Zone {
    /// Its name.
    pub name: String,
    globs: GlobSet,
    /// The globs as written (what the result cache is keyed on).
    patterns: Vec<String>,
}

/// The compiled risk zones of a configuration.
#[derive(Clone, Debug, Default)]
pub struct Zones {
    base: PathBuf,
    zones: Vec<Zone>,
}

impl Zones {
    /// Zones from (name, globs) pairs, with globs relative to `base`.
    pub fn new(base: PathBuf, zones: &[(&str, &[&str])]) -> Result<Zones, globset::Error> {
        let mut out = Vec::new();
        for (name, globs) in zones {
            let globs: Vec<String> = globs.iter().map(|g| (*g).to_string()).collect();
            out.push(Zone {
                name: (*name).to_string(),
                globs: glob_set(&globs)?,
                patterns: globs,
            });
        }
        Ok(Zones { base, zones: out })
    }

    /// The base directory and each zone's name and globs as written: what
    /// identifies the zones (the result cache is keyed on it).
    pub fn describe(&self) -> String {
        let zones: Vec<String> = self
            .zones
            .iter()
            .map(|z| format!("{:?}={:?}", z.name, z.patterns))
            .collect();
        format!("{:?}:{}", self.base, zones.join(","))
    }

    /// Whether there is no zone.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The names of the zones an absolute path `abs` is in (relative path
    /// `rel` is tried too, for files outside the configuration's directory).
    pub fn of(&self, abs: &Path, rel: &str) -> Vec<String> {
        let candidate = abs.strip_prefix(&self.base).map_or_else(
            |_| rel.to_string(),
            |p| {
                p.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            },
        );
        self.zones
            .iter()
            .filter(|z| z.globs.is_match(&candidate))
            .map(|z| z.name.clone())
            .collect()
    }
}

fn glob_set(globs: &[String]) -> Result<GlobSet, globset::Error> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        // A pattern without a slash matches at any depth, as in .gitignore.
        let g = g.trim_start_matches("./");
        let pattern = if g.contains('/') {
            g.trim_start_matches('/').to_string()
        } else {
            format!("**/{g}")
        };
        let dir_contents = format!("{}/**", pattern.trim_end_matches('/'));
        b.add(Glob::new(&pattern)?);
        b.add(Glob::new(&dir_contents)?);
    }
    b.build()
}

/// Fills `options` from a configuration (when there is one) and the
/// command line's `--select`, `--ignore` and `--max-file-size`: the command
/// line's `select` replaces the file's, its `ignore` adds to the file's
/// (and to the rules set `off`), its `max_file_size` wins.
pub fn configure(
    options: &mut ScanOptions,
    loaded: Option<&Loaded>,
    select: &[String],
    ignore: &[String],
    max_file_size: Option<u64>,
) -> anyhow::Result<()> {
    let catalog: Vec<&'static str> = faultline_rules::all_rules()
        .iter()
        .map(|r| r.meta().id)
        .collect();
    let mut select = select.to_vec();
    let mut ignore = ignore.to_vec();
    options.max_file_size = max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE);
    if let Some(loaded) = loaded {
        let c = &loaded.config;
        // The file's own lists are checked with the file named.
        select_rules(faultline_rules::all_rules(), &c.select, &c.ignore)
            .with_context(|| format!("invalid configuration in `{}`", loaded.path.display()))?;
        let levels = loaded.levels(&catalog)?;
        if select.iter().all(|s| s.trim().is_empty()) {
            select.clone_from(&c.select);
        }
        ignore.extend(c.ignore.iter().cloned());
        ignore.extend(
            levels
                .off
                .iter()
                .filter(|o| o.as_str() != SUPPRESSION_RULE)
                .cloned(),
        );
        if max_file_size.is_none()
            && let Some(max) = c.max_file_size
        {
            options.max_file_size = max;
        }
        options.exclude = loaded.exclude()?;
        options.exclude_base = Some(loaded.dir.clone());
        options.models = loaded.models()?.map(Arc::new);
        options.settings.zones = loaded.zones()?;
        options.settings.levels = levels;
    }
    options.rules = select_rules(faultline_rules::all_rules(), &select, &ignore)?;
    Ok(())
}

/// [`ScanOptions`] for `paths` with the configuration found upward from the
/// first of them: what `faultline scan PATH...` runs with no other flag.
pub fn discovered_options(paths: Vec<PathBuf>) -> anyhow::Result<ScanOptions> {
    let loaded = match paths.first() {
        Some(first) => discover(first)?,
        None => None,
    };
    let mut options = ScanOptions {
        paths,
        ..ScanOptions::default()
    };
    configure(&mut options, loaded.as_ref(), &[], &[], None)?;
    Ok(options)
}

/// What `faultline init` writes.
pub const STARTER: &str = r#"# faultline configuration. Every key is optional; `faultline explain RULE`
# documents each rule, `faultline rules` lists them.

# Rules or families to run (default: all). Families: external-call, race,
# retry, trust, query. `--select` on the command line replaces this list.
# select = ["external-call", "race"]

# Rules or families not to run; `--ignore` adds to this list.
# ignore = ["external-call/missing-timeout"]

# Files and directories not to scan (gitignore-style globs relative to this
# file). .gitignore and .ignore are always honoured.
exclude = [
  # "migrations/**",
  # "**/*_pb2.py",
]

# Files larger than this many bytes are skipped (default 2 MiB).
# max-file-size = 2097152

# The level of a rule (or of a whole family): error, warning, note or off.
# [rules."external-call/missing-timeout"]
# level = "error"

# Risk zones: a finding inside one is raised one level (note -> warning ->
# error) and tagged with the zone's name in every report.
# [[zones]]
# name = "payments"
# paths = ["**/billing/**", "**/payments/**"]

# Your own APIs, in the format of faultline's built-in models: an HTTP client
# wrapper, a retry helper, an internal auth header, a logger.
# [[models]]
# language = "python"          # python | typescript | rust
# package = "acme-http"
# [[models.calls]]
# patterns = ["acme.http.{get,post}()"]
# kind = "http"
# timeout = { kwarg = "timeout" }
#
# Tables that hold configuration and stay small: loading one whole is not
# query/unbounded. Request-context additions (the format of
# rules/models/<lang>/request_context.toml) are appended to the built-in ones.
# [[models]]
# language = "python"
# package = "acme-app"
# small_tables = ["Channel", "Warehouse", "*Settings"]
# [models.request_context.handlers]
# decorators = ["acme_endpoint"]
# [models.request_context.headers]
# identity = ["x-acme-user"]
"#;

impl fmt::Display for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_parses() {
        let c: Config = toml::from_str(STARTER).unwrap();
        assert_eq!(c, Config::default());
    }

    fn scan_with(config: &str, lang: faultline_grammars::Lang, source: &str, rule: &str) -> usize {
        let loaded = Loaded {
            path: PathBuf::from("faultline.toml"),
            dir: PathBuf::from("."),
            config: toml::from_str(config).unwrap(),
        };
        let user = loaded.models().unwrap();
        let models = user
            .as_ref()
            .unwrap_or_else(|| faultline_rules::models::builtin());
        let rules = [faultline_rules::find_rule(rule).unwrap()];
        crate::engine::analyze::analyze_source_with("app.py", lang, source, &rules, false, models)
            .findings
            .len()
    }

    #[test]
    fn user_models_add_small_tables_and_request_context() {
        let none = "";
        let own = r#"
            [[models]]
            language = "python"
            package = "acme"
            small_tables = ["Channel"]
            [models.request_context.handlers]
            decorators = ["acme_endpoint"]
            [models.request_context.headers]
            identity = ["x-acme-operator"]
        "#;
        let query = "def channels(request):\n    return list(Channel.objects.all())\n";
        let py = faultline_grammars::Lang::Python;
        assert_eq!(scan_with(none, py, query, "query/unbounded"), 1);
        assert_eq!(scan_with(own, py, query, "query/unbounded"), 0);
        let header = "from acme import acme_endpoint, flask_request\n\n\
            @acme_endpoint(\"/purge\")\n\
            def purge(req):\n    \
                if req.headers.get(\"X-Acme-Operator\") == \"ops\":\n        \
                    return drop_all()\n    return deny()\n";
        assert_eq!(
            scan_with(none, py, header, "trust/caller-asserted-identity"),
            0
        );
        assert_eq!(
            scan_with(own, py, header, "trust/caller-asserted-identity"),
            1
        );
        let bad = "[[models]]\nlanguage = \"python\"\npackage = \"x\"\n[models.request_context.handlers]\ndecorator = [\"x\"]\n";
        let loaded = Loaded {
            path: PathBuf::from("faultline.toml"),
            dir: PathBuf::from("."),
            config: toml::from_str(bad).unwrap(),
        };
        assert!(loaded.models().is_err());
    }

    #[test]
    fn zones_match_like_gitignore() {
        let z = Zones::new(
            PathBuf::from("/r"),
            &[("payments", &["**/billing/**", "payments"])],
        )
        .unwrap();
        assert_eq!(
            z.of(Path::new("/r/svc/billing/a.py"), "x"),
            vec!["payments"]
        );
        assert_eq!(z.of(Path::new("/r/payments/a.py"), "x"), vec!["payments"]);
        assert_eq!(z.of(Path::new("/r/a/payments/b.py"), "x"), vec!["payments"]);
        assert!(z.of(Path::new("/r/svc/bill.py"), "x").is_empty());
    }
}
