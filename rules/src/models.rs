//! API knowledge as data: which calls are HTTP, database, subprocess or file
//! calls, which argument carries the timeout, which clients throw on non-2xx,
//! what a response's status checks and body reads are called.
//!
//! Models live in `rules/models/<lang>/<package>.toml` and are embedded at
//! build time. A model file looks like this:
//!
//! ```toml
//! language = "python"
//! package = "requests"
//!
//! [[types]]                       # a client type and how it is constructed
//! name = "requests.Session"
//! constructors = ["requests.Session()", "requests.session()"]
//! default_timeout = "none"        # none | bounded
//!
//! [[calls]]                       # calls of the package
//! patterns = ["requests.{get,post}()", "<requests.Session>.{get,post}()"]
//! kind = "http"
//! timeout = { kwarg = "timeout", position = 3 }
//! response = "requests"           # names a [[responses]] entry
//! ```
//!
//! Patterns are resolved paths (see `faultline_ir::Path`): segments separated
//! by `.` or `::`; `name()` must be called, `name` must not be; `*` is any one
//! segment; `{a,b}` is either name; `..` is any number of segments (builder
//! steps); a leading `<Type>` stands for any of that type's constructors.

use crate::utils::listed;
use foldhash::HashMap;
use std::sync::OnceLock;

use faultline_ir::{Language, Segment};
use serde::Deserialize;

use crate::prefilter::Needles;
use thiserror::Error;

/// A model file could not be read.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The TOML is malformed or has unknown keys.
    #[error("model {file}: {message}")]
    Parse {
        /// The model file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A `<Type>` reference names no declared type.
    #[error("model {file}: pattern `{pattern}` names unknown type `{ty}`")]
    UnknownType {
        /// The model file.
        file: String,
        /// The pattern.
        pattern: String,
        /// The missing type.
        ty: String,
    },
}

/// What sort of external resource a call touches.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum CallKind {
    /// An HTTP request.
    Http,
    /// A database query or connection.
    Db,
    /// A cache or key-value store.
    Cache,
    /// A subprocess.
    Subprocess,
    /// A file-system operation.
    Fs,
    /// A raw network connection (socket, SMTP, TCP).
    Network,
    /// A message queue or publish.
    Queue,
    /// Email, SMS, push.
    Notify,
}

impl CallKind {
    /// A noun for messages.
    pub fn noun(self) -> &'static str {
        match self {
            CallKind::Http => "HTTP request",
            CallKind::Db => "database call",
            CallKind::Cache => "cache call",
            CallKind::Subprocess => "subprocess call",
            CallKind::Fs => "file-system call",
            CallKind::Network => "network call",
            CallKind::Queue => "queue call",
            CallKind::Notify => "notification call",
        }
    }
}

/// Whether a client or call has a timeout when none is given.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultTimeout {
    /// Waits forever by default.
    #[default]
    None,
    /// Has a finite default (httpx' 5 s, blocking reqwest's 30 s).
    Bounded,
}

/// Where a timeout is given.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TimeoutSpec {
    /// A keyword argument (`timeout=`).
    pub kwarg: Option<String>,
    /// A positional argument index (0-based).
    pub position: Option<usize>,
    /// A key of an options object (`{ timeout: 5000 }`, `{ signal }`).
    #[serde(default)]
    pub option: Vec<String>,
    /// Which argument indexes may hold that options object.
    #[serde(default)]
    pub options_at: Vec<usize>,
    /// A builder step in the path (`.timeout(..)`).
    #[serde(default)]
    pub builder: Vec<String>,
    /// A value that means "no timeout" besides `None`/`null` (axios' `0`).
    #[serde(default)]
    pub unbounded_values: Vec<String>,
}

/// A client type.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeModel {
    /// Its qualified name, referenced as `<name>` in patterns.
    pub name: String,
    /// Patterns that construct (or, with `()` on the last segment and no
    /// call, annotate) an instance.
    pub constructors: Vec<String>,
    /// Whether an instance built without a timeout has one anyway.
    #[serde(default)]
    pub default_timeout: DefaultTimeout,
    /// Where the constructor takes a timeout.
    pub timeout: Option<TimeoutSpec>,
    /// A client built without a timeout is itself the finding (reported at
    /// the construction) rather than each call through it.
    #[serde(default)]
    pub report_construction: bool,
    /// A keyword/option on the constructor that makes every response raise
    /// on non-2xx (aiohttp's `raise_for_status=True`).
    pub raise_option: Option<String>,
    /// The constructor is a request/response client that raises on non-2xx.
    #[serde(default)]
    pub raises_on_status: bool,
}

/// A modeled call.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallModel {
    /// Patterns of the call's path.
    pub patterns: Vec<String>,
    /// What it touches.
    pub kind: CallKind,
    /// Where its timeout goes; `None` when timeouts do not apply.
    pub timeout: Option<TimeoutSpec>,
    /// Whether it has a finite timeout when none is given.
    #[serde(default)]
    pub default_timeout: DefaultTimeout,
    /// Report a missing timeout at this level instead of the rule's
    /// (Node's `fetch` has undici's 300 s limits: a note).
    pub missing_timeout_level: Option<String>,
    /// The value is an HTTP response of this `[[responses]]` family whose
    /// status nobody has checked yet.
    pub response: Option<String>,
    /// It throws/raises on a non-2xx status by itself (axios, got).
    #[serde(default)]
    pub raises_on_status: bool,
    /// It returns a promise / coroutine / future.
    #[serde(default)]
    pub returns_promise: bool,
    /// It can fail: returns a `Result` (Rust) or raises on I/O failure.
    #[serde(default = "yes")]
    pub fallible: bool,
    /// It changes remote state (a write). HTTP methods are read from the path.
    #[serde(default)]
    pub write: bool,
    /// A best-effort cleanup (remove a temp file) whose failure is routinely
    /// ignored.
    #[serde(default)]
    pub cleanup: bool,
}

fn yes() -> bool {
    true
}

/// What a `[[state]]` entry's calls do to shared state (the `race` family).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum StateRole {
    /// Reads a value or a row from shared state.
    Read,
    /// Writes a value back; the new value is in its arguments.
    Write,
    /// Writes a row object (its receiver or first argument) back.
    Save,
    /// Flushes every changed row of a session (SQLAlchemy `commit`).
    Commit,
    /// Tests existence or counts (`exists()`, `count()`, `contains_key`).
    Check,
    /// Creates what a check looked for (`create()`, `insert`, `open(.., 'w')`).
    Create,
    /// Opens a scope (a `with` context, a decorator, or a call taking a
    /// callback) inside which reads and writes do not interleave.
    Scope,
    /// Makes the function's key writes optimistic (Redis `WATCH`).
    Optimistic,
}

/// What sort of shared state a `[[state]]` entry is about.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum StateKind {
    /// A database row (an ORM model instance or entity).
    #[default]
    Row,
    /// A cache or key-value entry, named by its first argument.
    Key,
    /// An atomic value (Rust `AtomicUsize`).
    Atomic,
    /// A value behind a lock guard (Rust `Mutex::lock`).
    Guard,
    /// A file-system path, named by its first argument.
    File,
    /// A lock (for scopes).
    Lock,
    /// A database transaction (for scopes).
    Transaction,
}

/// Calls that read, write, check or guard shared state (`[[state]]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateModel {
    /// Patterns of the call's path.
    pub patterns: Vec<String>,
    /// What the call does.
    pub role: StateRole,
    /// What it does it to.
    #[serde(default)]
    pub kind: StateKind,
    /// How the state is named: `receiver` (default: the model or client the
    /// call goes through), `arg0` (the first argument's root name, as in
    /// SQLAlchemy `update(Account)`), `path` (the first argument of the call
    /// or of the call it is made on: a file path).
    pub entity: Option<String>,
    /// Argument indexes that carry the written value (default: all).
    #[serde(default)]
    pub value_args: Vec<usize>,
    /// Keys of an options object that carry the written value (`data`).
    #[serde(default)]
    pub value_keys: Vec<String>,
    /// Keyword arguments, option keys or builder steps that make the call
    /// safe (`nx`, `exist_ok`, `create_new`, `update_fields`).
    #[serde(default)]
    pub safe: Vec<String>,
    /// String argument values that make the call safe (`"wx"`, `"NX"`, `"x"`).
    #[serde(default)]
    pub safe_values: Vec<String>,
    /// The call only acts when one of these string arguments (or builder
    /// steps) is present (`open(p, "w")`, `.create(true)`).
    #[serde(default)]
    pub requires: Vec<String>,
    /// Path segments that make a read locking (`select_for_update`).
    #[serde(default)]
    pub locking: Vec<String>,
    /// The safe alternative, for messages.
    pub fix: Option<String>,
}

/// An HTTP response family: how its status is checked and its body read.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseModel {
    /// Name referenced from `[[calls]] response`.
    pub name: String,
    /// Members that check or read the status (`raise_for_status`, `ok`, `status`).
    pub status_checks: Vec<String>,
    /// Members that read the body (`json`, `text`).
    pub body_reads: Vec<String>,
}

/// How a retry construct wraps what it retries.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum RetryShape {
    /// A decorator: the decorated function is retried (`@tenacity.retry`,
    /// `@backoff.on_exception(..)`).
    Decorator,
    /// A job decorator: the task is re-run when it fails with one of the
    /// `enabled_by` options, or when it calls `rerun_method` on its bound
    /// task (`@app.task(autoretry_for=..)`, `self.retry()`).
    Task,
    /// A call that runs its `operation` argument again on failure
    /// (`pRetry(fn)`, `backoff::retry(policy, op)`, `queue.enqueue(f, retry=..)`).
    Wrapper,
    /// An iterator of attempts: the body of the loop over it is retried
    /// (`for attempt in Retrying(): with attempt: ..`).
    Attempts,
    /// A retry policy that only acts once mounted by an `adapter`
    /// (urllib3's `Retry`).
    Policy,
    /// A transport adapter given a `policy` and mounted on a session with
    /// `mount` (requests' `HTTPAdapter(max_retries=..)`).
    Adapter,
    /// Configures a client so that its requests are retried (`axiosRetry(client, ..)`,
    /// `got.extend({ retry })`, reqwest-retry's middleware).
    Client,
    /// A job worker whose processor (`operation`) is re-run when a job fails
    /// and its queue was given `enabled_by` attempts (BullMQ).
    Worker,
}

/// Where an argument or option is given.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ArgSpec {
    /// Keyword arguments (`retry=`) or option keys (`{ retryCondition }`).
    #[serde(default)]
    pub kwarg: Vec<String>,
    /// Positional indexes (0-based).
    #[serde(default)]
    pub position: Vec<usize>,
    /// Positional indexes of an options object holding one of `kwarg`.
    #[serde(default)]
    pub options_at: Vec<usize>,
    /// The option is nested under this key of the options object (got's
    /// `{ retry: { methods } }`).
    pub nested_in: Option<String>,
}

/// Which failures a retry construct retries on.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// Keyword arguments or option keys where it is given.
    #[serde(default)]
    pub kwarg: Vec<String>,
    /// Positional indexes where it is given.
    #[serde(default)]
    pub position: Vec<usize>,
    /// Positional indexes of an options object holding one of `kwarg`.
    #[serde(default)]
    pub options_at: Vec<usize>,
    /// The option is nested under this key of the options object.
    pub nested_in: Option<String>,
    /// Predicate constructors whose arguments are the exception types
    /// (`tenacity.retry_if_exception_type()`).
    #[serde(default)]
    pub exception_predicates: Vec<String>,
    /// Predicates that limit retries to safe requests
    /// (`axios-retry.isNetworkOrIdempotentRequestError`).
    #[serde(default)]
    pub safe: Vec<String>,
    /// With no condition given, only safe failures are retried
    /// (axios-retry's default).
    #[serde(default)]
    pub safe_when_absent: bool,
}

macro_rules! arg_spec {
    ($t:ty) => {
        impl $t {
            /// Where it is given, as an [`ArgSpec`].
            pub fn at(&self) -> ArgSpec {
                ArgSpec {
                    kwarg: self.kwarg.clone(),
                    position: self.position.clone(),
                    options_at: self.options_at.clone(),
                    nested_in: self.nested_in.clone(),
                }
            }
        }
    };
}
arg_spec!(ConditionSpec);
arg_spec!(MethodSpec);

/// Which HTTP methods a retry policy retries.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MethodSpec {
    /// Keyword arguments or option keys where it is given.
    #[serde(default)]
    pub kwarg: Vec<String>,
    /// Positional indexes where it is given.
    #[serde(default)]
    pub position: Vec<usize>,
    /// Positional indexes of an options object holding one of `kwarg`.
    #[serde(default)]
    pub options_at: Vec<usize>,
    /// The option is nested under this key of the options object.
    pub nested_in: Option<String>,
    /// Methods retried when none are given.
    #[serde(default)]
    pub default: Vec<String>,
    /// Values that mean "every method" (`None`, `False`).
    #[serde(default)]
    pub all_values: Vec<String>,
}

/// A construct that runs an operation again when it fails.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryModel {
    /// Patterns of the construct's path (a decorator, a call).
    pub patterns: Vec<String>,
    /// How it wraps what it retries.
    pub shape: RetryShape,
    /// The positional index of the retried callable (`wrapper`, `worker`).
    pub operation: Option<usize>,
    /// It retries only when one of these options is given (Celery's
    /// `autoretry_for`, rq's `retry`, BullMQ's `attempts`), searched in
    /// keyword arguments and (nested) options objects.
    #[serde(default)]
    pub enabled_by: Vec<String>,
    /// Calls in the file that may carry `enabled_by` for a `worker` (the
    /// queue it consumes).
    #[serde(default)]
    pub enabled_in: Vec<String>,
    /// `task`: the method of the bound task that re-runs it (`retry`).
    pub rerun_method: Option<String>,
    /// `task`: the option that binds the task to its first parameter.
    pub bind_kwarg: Option<String>,
    /// Which failures are retried.
    pub condition: Option<ConditionSpec>,
    /// Which HTTP methods are retried (`policy`, `client`).
    pub methods: Option<MethodSpec>,
    /// Options that, set to `0`/`False`, turn retrying off.
    #[serde(default)]
    pub off_if_zero: Vec<String>,
    /// Options that, all set to `0`/`False`, leave only connection
    /// retries (urllib3's `read`).
    #[serde(default)]
    pub connection_only_if_zero: Vec<String>,
    /// Options whose absence means no retry on a response status
    /// (urllib3's `status_forcelist`); needed with `connection_only_if_zero`.
    #[serde(default)]
    pub status_retry_by: Vec<String>,
    /// `adapter`: where the policy is given.
    pub policy: Option<ArgSpec>,
    /// `adapter`: the session method that mounts it (`mount`) and the
    /// adapter's position there.
    pub mount: Option<String>,
    /// `client`: the position of the client it configures; without it, the
    /// client is the builder chain it is passed into, or the call itself.
    pub client_at: Option<usize>,
}

/// What a non-idempotent operation does.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum EffectKind {
    /// Moves money: a charge, payment, refund, transfer.
    Payment,
    /// Inserts a row (or a document).
    Insert,
    /// Sends an email, SMS or push notification.
    Notify,
    /// Publishes a message to a queue or topic.
    Publish,
    /// Sends an HTTP request whose method is read from its path.
    Http,
}

/// An operation that is not safe to repeat.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectModel {
    /// Patterns of the call's path.
    pub patterns: Vec<String>,
    /// What it does.
    pub effect: EffectKind,
    /// What it does, for messages (`charges a payment`).
    pub what: String,
    /// How to make the retry safe, for messages (`pass \`idempotency_key=\``).
    pub fix: String,
    /// The SQL is at this argument (of the call or of an earlier step of its
    /// chain): only an `INSERT` without an upsert (or an `UPDATE` that
    /// increments) counts.
    pub sql_at: Option<usize>,
    /// Builder steps that make it safe (`on_conflict`).
    #[serde(default)]
    pub safe_steps: Vec<String>,
    /// Keyword arguments or option keys that name the row and make a
    /// repeat fail instead of duplicating it (`pk`, `id`).
    #[serde(default)]
    pub unique_keys: Vec<String>,
}

/// A query API: how a query is built, what loads its whole result, and
/// where a bound can be (`[[queries]]` in a model file).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryModel {
    /// What the query is called in messages (`Django queryset`).
    pub name: String,
    /// Patterns of the path prefix that builds the query
    /// (`..objects.{all,filter}()`, `sqlx::query()`).
    pub sources: Vec<String>,
    /// Chain steps that keep the same rows (`filter`, `order_by`, `where`).
    #[serde(default)]
    pub steps: Vec<String>,
    /// Steps that load the whole result (`all`, `load`, `fetch_all`, `getMany`).
    #[serde(default)]
    pub fetch: Vec<String>,
    /// The source call itself loads the whole result (`findMany`, `findAll`).
    #[serde(default)]
    pub source_fetches: bool,
    /// Iterating the query object (a loop, a comprehension) loads it whole.
    #[serde(default)]
    pub iterate: bool,
    /// `list()`, `tuple()`, `len()`, `sorted()` of the query load it whole.
    #[serde(default)]
    pub listify: bool,
    /// The positional argument of a `fetch` step that bounds it when given
    /// and not null (motor's `to_list(100)`).
    pub fetch_limit_at: Option<usize>,
    /// Steps that bound, stream or reduce the result (`limit`, `iterator`,
    /// `first`, `count`, `paginate`).
    #[serde(default)]
    pub bounds: Vec<String>,
    /// A grouping step followed by an aggregating one (`values`, then
    /// `annotate`): one row per group.
    #[serde(default)]
    pub grouping: Vec<String>,
    /// Keyword arguments or option keys that bound the result (`take`, `limit`).
    #[serde(default)]
    pub limit_options: Vec<String>,
    /// Which positional arguments of the source and steps may hold those options.
    #[serde(default)]
    pub options_at: Vec<usize>,
    /// Steps whose arguments filter rows (`filter`, `where`); `source` names
    /// the source call itself.
    #[serde(default)]
    pub filters: Vec<String>,
    /// The key of an options object that holds the filter (`where`).
    pub where_option: Option<String>,
    /// Raw SQL: the positional argument of the source call that holds the text.
    pub sql_at: Option<usize>,
    /// DB-API style: `fetch` steps are called on a cursor that ran one of
    /// these (`execute`) earlier.
    #[serde(default)]
    pub cursor_execute: Vec<String>,
    /// Steps that run the query once (`get`, `count`, `exists`, `fetch_one`):
    /// a query issued per element of a loop.
    #[serde(default)]
    pub executes: Vec<String>,
    /// Calls that run one query on their own (`prisma.*.findUnique()`).
    #[serde(default)]
    pub runs: Vec<String>,
    /// Steps that write (`update`, `delete`, `save`): not N+1 when each row
    /// gets its own values.
    #[serde(default)]
    pub writes: Vec<String>,
    /// Steps that preload related rows (`prefetch_related`, `include`).
    #[serde(default)]
    pub preloads: Vec<String>,
    /// What to do instead of loading it whole.
    pub instead: String,
    /// What to do instead of one query per element.
    pub batch: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    language: String,
    package: String,
    #[serde(default)]
    types: Vec<TypeModel>,
    #[serde(default)]
    calls: Vec<CallModel>,
    #[serde(default)]
    responses: Vec<ResponseModel>,
    /// Exception types that signal a failure of this package's calls.
    #[serde(default)]
    exceptions: Vec<String>,
    /// Calls that validate parsed data and raise/throw on a mismatch.
    #[serde(default)]
    validators: Vec<String>,
    /// Spawn calls whose task is lost if the handle is dropped.
    #[serde(default)]
    spawns: Vec<String>,
    /// Query APIs (the `query` family).
    #[serde(default)]
    queries: Vec<QueryModel>,
    /// Constructs that run an operation again when it fails.
    #[serde(default)]
    retries: Vec<RetryModel>,
    /// Operations that are not safe to repeat.
    #[serde(default)]
    effects: Vec<EffectModel>,
    /// Exception types raised only when a connection could not be
    /// established or before the request was sent (the request never
    /// left): retrying on them is safe.
    #[serde(default)]
    connection_errors: Vec<String>,
    /// Methods or predicates that test an error for a failed connection
    /// (`e.is_connect()`): a retry guarded by one is safe.
    #[serde(default)]
    connection_checks: Vec<String>,
    /// Calls on shared state (the `race` family).
    #[serde(default)]
    state: Vec<StateModel>,
    /// Tables known to stay small (configuration: channels, warehouses,
    /// plugin settings), by model or table name; `*` at either end is a
    /// wildcard. A whole-table load of one is not `query/unbounded`.
    #[serde(default)]
    small_tables: Vec<String>,
    /// Additions to the request-context model of the file's language, in
    /// the format of `rules/models/<lang>/request_context.toml` without
    /// `language`: lists are appended to the built-in ones.
    #[serde(default)]
    request_context: Option<toml::Table>,
}

/// One token of a compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// One segment: allowed names (`None`: any) and whether it is called.
    Seg {
        names: Option<Vec<String>>,
        called: bool,
    },
    /// Any number of segments.
    Many,
}

/// A compiled path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    toks: Vec<Tok>,
    /// Number of leading tokens that came from a `<Type>` constructor.
    type_len: usize,
    /// The type, when the pattern started with `<Type>`.
    type_index: Option<usize>,
    text: String,
}

impl Pattern {
    fn compile(text: &str) -> Pattern {
        let norm = text.replace("::", ".");
        let mut toks = Vec::new();
        // Split on '.' outside braces; ".." is the Many token.
        let mut parts: Vec<String> = Vec::new();
        let mut cur = String::new();
        let mut depth = 0;
        let chars: Vec<char> = norm.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '{' => {
                    depth += 1;
                    cur.push(c)
                }
                '}' => {
                    depth -= 1;
                    cur.push(c)
                }
                '.' if depth == 0 => {
                    if chars.get(i + 1) == Some(&'.') {
                        if !cur.is_empty() {
                            parts.push(std::mem::take(&mut cur));
                        }
                        parts.push("..".to_string());
                        i += 1;
                    } else if !cur.is_empty() {
                        parts.push(std::mem::take(&mut cur));
                    }
                }
                _ => cur.push(c),
            }
            i += 1;
        }
        if !cur.is_empty() {
            parts.push(cur);
        }
        for p in parts {
            if p == ".." {
                toks.push(Tok::Many);
                continue;
            }
            let called = p.ends_with("()");
            let name = p.trim_end_matches("()");
            let names = if name == "*" {
                None
            } else if let Some(inner) = name.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                Some(inner.split(',').map(|s| s.trim().to_string()).collect())
            } else {
                Some(vec![name.to_string()])
            };
            toks.push(Tok::Seg { names, called });
        }
        Pattern {
            toks,
            type_len: 0,
            type_index: None,
            text: text.to_string(),
        }
    }

    /// The pattern as written in the model.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether `segs` matches the whole pattern.
    pub fn matches(&self, segs: &[Segment]) -> bool {
        match_toks(&self.toks, segs)
    }

    /// Whether the pattern matches a prefix of `segs`; returns the prefix length.
    pub fn match_prefix(&self, segs: &[Segment]) -> Option<usize> {
        (1..=segs.len())
            .rev()
            .find(|&k| match_toks(&self.toks, &segs[..k]))
    }

    /// The shortest prefix of `segs` the pattern matches; returns its length.
    pub fn match_shortest_prefix(&self, segs: &[Segment]) -> Option<usize> {
        (1..=segs.len()).find(|&k| match_toks(&self.toks, &segs[..k]))
    }

    /// The names a file must contain for a path to match the pattern: one
    /// group of alternatives per literal segment (every segment of a
    /// resolved path is written in the file). Roots a path may have without
    /// the file naming them (`self`, `globalThis`, `builtins`…) are left out
    /// unless nothing else is literal. `None` when every segment is `*` or
    /// `..`.
    fn anchor_groups(&self) -> Option<Vec<Vec<String>>> {
        const IMPLICIT_ROOTS: &[&str] = &[
            "window",
            "globalThis",
            "global",
            "builtins",
            "self",
            "Self",
            "crate",
            "super",
            "this",
        ];
        let literals: Vec<&[String]> = self
            .toks
            .iter()
            .filter_map(|t| match t {
                Tok::Seg {
                    names: Some(ns), ..
                } if !ns.is_empty() => Some(ns.as_slice()),
                _ => None,
            })
            .collect();
        let first = *literals.first()?;
        let distinctive: Vec<Vec<String>> = literals
            .iter()
            .filter(|ns| !ns.iter().any(|n| IMPLICIT_ROOTS.contains(&n.as_str())))
            .map(|ns| ns.to_vec())
            .collect();
        if distinctive.is_empty() {
            return Some(vec![first.to_vec()]);
        }
        Some(distinctive)
    }

    fn last_names(&self) -> Option<Vec<String>> {
        match self.toks.last() {
            Some(Tok::Seg { names, .. }) => names.clone(),
            _ => None,
        }
    }
}

fn match_toks(toks: &[Tok], segs: &[Segment]) -> bool {
    match toks.split_first() {
        None => segs.is_empty(),
        Some((Tok::Many, rest)) => (0..=segs.len()).any(|k| match_toks(rest, &segs[k..])),
        Some((Tok::Seg { names, called }, rest)) => match segs.split_first() {
            None => false,
            Some((s, srest)) => {
                s.called == *called
                    && names.as_ref().is_none_or(|ns| listed(ns, &s.name))
                    && match_toks(rest, srest)
            }
        },
    }
}

/// A table of the models, for [`Models::anchors`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// `calls`.
    Calls,
    /// The constructors of `types`.
    Types,
    /// `spawns`.
    Spawns,
    /// `state`.
    State,
    /// `retries` and the calls that enable them.
    Retries,
    /// `effects`.
    Effects,
    /// The sources and runs of `queries`.
    Queries,
}

/// A call's match against the models.
#[derive(Clone, Copy, Debug)]
pub struct CallMatch<'m> {
    /// The call model.
    pub model: &'m CallModel,
    /// The receiver's client type, when the pattern went through `<Type>`.
    pub client: Option<&'m TypeModel>,
    /// How many leading path segments make up the client construction.
    pub client_len: usize,
}

#[derive(Default, Debug)]
struct LangModels {
    types: Vec<TypeModel>,
    calls: Vec<CallModel>,
    /// (call index, pattern), indexed by last segment name; `*` for any.
    by_last: HashMap<String, Vec<(usize, Pattern)>>,
    responses: Vec<ResponseModel>,
    exceptions: Vec<Pattern>,
    validators: Vec<Pattern>,
    spawns: Vec<Pattern>,
    queries: Vec<QueryModel>,
    /// (query index, source pattern).
    query_sources: Vec<(usize, Pattern)>,
    /// (query index, pattern of a call that runs one query).
    query_runs: Vec<(usize, Pattern)>,
    state: Vec<(StateModel, Vec<Pattern>)>,
    /// Indexes into `state`, by the last segment name of a pattern; `*`
    /// for patterns ending in a wildcard.
    state_by_last: HashMap<String, Vec<usize>>,
    type_patterns: Vec<(usize, Pattern)>,
    retries: Vec<(RetryModel, Vec<Pattern>)>,
    effects: Vec<(EffectModel, Vec<Pattern>)>,
    connection_errors: Vec<Pattern>,
    connection_checks: Vec<String>,
    retry_enablers: Vec<Pattern>,
    small_tables: Vec<String>,
}

/// All models, per language.
#[derive(Default, Debug)]
pub struct Models {
    langs: HashMap<&'static str, LangModels>,
    /// Files loaded, as `language/package`.
    pub files: Vec<String>,
    /// Request-context models extended by `request_context` tables, per
    /// language (languages with no extension use the built-in model).
    context: HashMap<&'static str, crate::context::model::ContextModel>,
}

/// A table or model name compared without case, underscores or a plural
/// `s`: `PluginConfiguration` and `plugin_configurations` are one key.
fn table_key(name: &str) -> String {
    let k: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if let Some(stem) = k.strip_suffix("ies") {
        return format!("{stem}y");
    }
    match k.strip_suffix('s') {
        Some(stem) if !stem.ends_with('s') && stem.len() > 2 => stem.to_string(),
        _ => k,
    }
}

macro_rules! model_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../models/", $path)))),*]
    };
}

/// The embedded model files: (path under `rules/models/`, contents).
pub const BUILTIN: &[(&str, &str)] = model_files![
    "python/requests.toml",
    "python/httpx.toml",
    "python/aiohttp.toml",
    "python/stdlib.toml",
    "python/asyncio.toml",
    "python/validation.toml",
    "python/urllib3.toml",
    "python/django.toml",
    "python/sqlalchemy.toml",
    "python/redis.toml",
    "python/concurrency.toml",
    "python/retry.toml",
    "python/effects.toml",
    "python/pymongo.toml",
    "python/django-queries.toml",
    "python/sqlalchemy-queries.toml",
    "python/query-tables.toml",
    "typescript/axios.toml",
    "typescript/fetch.toml",
    "typescript/node.toml",
    "typescript/got.toml",
    "typescript/validation.toml",
    "typescript/orm.toml",
    "typescript/redis.toml",
    "typescript/filesystem.toml",
    "typescript/retry.toml",
    "typescript/effects.toml",
    "typescript/prisma.toml",
    "typescript/typeorm.toml",
    "typescript/sequelize.toml",
    "typescript/mongodb.toml",
    "typescript/sql.toml",
    "typescript/query-tables.toml",
    "rust/reqwest.toml",
    "rust/ureq.toml",
    "rust/std.toml",
    "rust/sqlx.toml",
    "rust/redis.toml",
    "rust/lettre.toml",
    "rust/state.toml",
    "rust/database.toml",
    "rust/retry.toml",
    "rust/effects.toml",
    "rust/sqlx-query.toml",
    "rust/diesel.toml",
    "rust/sea-orm.toml",
    "rust/query-tables.toml",
];

impl Models {
    /// Parses model files given as (name, TOML text).
    pub fn load(files: &[(&str, &str)]) -> Result<Models, ModelError> {
        let mut models = Models::default();
        for (name, text) in files {
            let file: ModelFile = toml::from_str(text).map_err(|e| ModelError::Parse {
                file: name.to_string(),
                message: e.to_string(),
            })?;
            let lang = match file.language.as_str() {
                "python" => "python",
                "typescript" => "typescript",
                "rust" => "rust",
                other => {
                    return Err(ModelError::Parse {
                        file: name.to_string(),
                        message: format!(
                            "unknown language `{other}` (expected python, typescript or rust)"
                        ),
                    });
                }
            };
            models.files.push(format!("{lang}/{}", file.package));
            let lm = models.langs.entry(lang).or_default();
            let type_base = lm.types.len();
            let ctors: Vec<Vec<String>> =
                file.types.iter().map(|t| t.constructors.clone()).collect();
            lm.types.extend(file.types);
            // A constructor may start from an earlier type (`<redis::Client>.get_connection()`).
            for (i, cs) in ctors.iter().enumerate() {
                for c in cs {
                    for mut pat in expand(c, lm, name)? {
                        pat.type_index = None;
                        pat.type_len = 0;
                        lm.type_patterns.push((type_base + i, pat));
                    }
                }
            }
            for call in file.calls {
                let ci = lm.calls.len();
                for p in &call.patterns {
                    for pat in expand(p, lm, name)? {
                        let key = pat.last_names().unwrap_or_else(|| vec!["*".to_string()]);
                        for k in key {
                            lm.by_last.entry(k).or_default().push((ci, pat.clone()));
                        }
                    }
                }
                lm.calls.push(call);
            }
            lm.responses.extend(file.responses);
            for e in &file.exceptions {
                lm.exceptions.push(Pattern::compile(e));
            }
            for v in &file.validators {
                lm.validators.extend(expand(v, lm, name)?);
            }
            for s in &file.spawns {
                lm.spawns.extend(expand(s, lm, name)?);
            }
            for st in file.state {
                let mut pats = Vec::new();
                for p in &st.patterns {
                    pats.extend(expand(p, lm, name)?);
                }
                let si = lm.state.len();
                for pat in &pats {
                    for k in pat.last_names().unwrap_or_else(|| vec!["*".to_string()]) {
                        let v = lm.state_by_last.entry(k).or_default();
                        if v.last() != Some(&si) {
                            v.push(si);
                        }
                    }
                }
                lm.state.push((st, pats));
            }
            for r in file.retries {
                let mut pats = Vec::new();
                for p in &r.patterns {
                    pats.extend(expand(p, lm, name)?);
                }
                for p in &r.enabled_in {
                    lm.retry_enablers.extend(expand(p, lm, name)?);
                }
                lm.retries.push((r, pats));
            }
            for e in file.effects {
                let mut pats = Vec::new();
                for p in &e.patterns {
                    pats.extend(expand(p, lm, name)?);
                }
                lm.effects.push((e, pats));
            }
            for c in &file.connection_errors {
                lm.connection_errors.extend(expand(c, lm, name)?);
            }
            lm.connection_checks.extend(file.connection_checks);
            lm.small_tables.extend(file.small_tables);
            if let Some(ext) = &file.request_context {
                let merged = crate::context::model::extend(lang, models.context.get(lang), ext)
                    .map_err(|message| ModelError::Parse {
                        file: name.to_string(),
                        message: format!("`request_context`: {message}"),
                    })?;
                models.context.insert(lang, merged);
            }
            for q in file.queries {
                let qi = lm.queries.len();
                for p in &q.sources {
                    for pat in expand(p, lm, name)? {
                        lm.query_sources.push((qi, pat));
                    }
                }
                for p in &q.runs {
                    for pat in expand(p, lm, name)? {
                        lm.query_runs.push((qi, pat));
                    }
                }
                lm.queries.push(q);
            }
        }
        Ok(models)
    }

    /// The built-in models plus a project's own model files, given as
    /// (name, TOML text) in the same format as the built-in ones. They load
    /// after the built-ins, so their `<Type>` patterns may name built-in
    /// types (`<requests.Session>.send()`); errors name the file.
    pub fn with_user(files: &[(&str, &str)]) -> Result<Models, ModelError> {
        let mut all: Vec<(&str, &str)> = BUILTIN.to_vec();
        all.extend_from_slice(files);
        Models::load(&all)
    }

    fn lang(&self, lang: Language) -> Option<&LangModels> {
        self.langs.get(lang.model_name())
    }

    /// Whether a model or table name (`PluginConfiguration`,
    /// `plugin_configurations`) is declared small.
    pub fn is_small_table(&self, lang: Language, name: &str) -> bool {
        let Some(lm) = self.lang(lang) else {
            return false;
        };
        let norm = table_key(name);
        !norm.is_empty()
            && lm.small_tables.iter().any(|p| {
                let key = table_key(p.trim_matches('*'));
                match (p.starts_with('*'), p.ends_with('*')) {
                    (true, true) => norm.contains(&key),
                    (true, false) => norm.ends_with(&key),
                    (false, true) => norm.starts_with(&key),
                    (false, false) => norm == key,
                }
            })
    }

    /// The request-context model of a language: the built-in one, extended
    /// by the project's `request_context` tables.
    pub fn request_context(&self, lang: Language) -> &crate::context::model::ContextModel {
        self.context
            .get(lang.model_name())
            .unwrap_or_else(|| crate::context::model::for_language(lang))
    }

    /// The model of the call (or member access) with this path.
    pub fn call(&self, lang: Language, segs: &[Segment]) -> Option<CallMatch<'_>> {
        let lm = self.lang(lang)?;
        let last = segs.last()?;
        let candidates = lm
            .by_last
            .get(last.name.as_str())
            .into_iter()
            .flatten()
            .chain(lm.by_last.get("*").into_iter().flatten());
        for (ci, pat) in candidates {
            if pat.matches(segs) {
                let model = lm.calls.get(*ci)?;
                let (client, client_len) = match pat.type_index {
                    Some(ti) => {
                        // The constructor part matched a prefix; find its length.
                        let len = lm
                            .type_patterns
                            .iter()
                            .filter(|(t, _)| *t == ti)
                            .filter_map(|(_, p)| p.match_prefix(&segs[..segs.len() - 1]))
                            .max()
                            .unwrap_or(pat.type_len);
                        (lm.types.get(ti), len)
                    }
                    None => (None, 0),
                };
                return Some(CallMatch {
                    model,
                    client,
                    client_len,
                });
            }
        }
        None
    }

    /// The client type constructed by exactly this path, if any.
    pub fn constructed_type(&self, lang: Language, segs: &[Segment]) -> Option<&TypeModel> {
        let lm = self.lang(lang)?;
        lm.type_patterns
            .iter()
            .find(|(_, p)| p.matches(segs))
            .and_then(|(ti, _)| lm.types.get(*ti))
    }

    /// The response family of this name.
    pub fn response(&self, lang: Language, name: &str) -> Option<&ResponseModel> {
        self.lang(lang)?.responses.iter().find(|r| r.name == name)
    }

    /// Whether an exception type path names a failure of an external call.
    pub fn is_external_exception(&self, lang: Language, segs: &[Segment]) -> bool {
        self.lang(lang)
            .is_some_and(|lm| lm.exceptions.iter().any(|p| p.matches(segs)))
    }

    /// Whether a call validates data and fails loudly on a mismatch.
    pub fn is_validator(&self, lang: Language, segs: &[Segment]) -> bool {
        self.lang(lang)
            .is_some_and(|lm| lm.validators.iter().any(|p| p.matches(segs)))
    }

    /// Whether a call spawns a task that is lost when its handle is dropped.
    pub fn is_spawn(&self, lang: Language, segs: &[Segment]) -> bool {
        self.lang(lang)
            .is_some_and(|lm| lm.spawns.iter().any(|p| p.matches(segs)))
    }

    /// The `[[state]]` entries whose patterns match this path, in model order.
    pub fn state(&self, lang: Language, segs: &[Segment]) -> Vec<&StateModel> {
        let (Some(lm), Some(last)) = (self.lang(lang), segs.last()) else {
            return Vec::new();
        };
        let mut candidates: Vec<usize> = lm
            .state_by_last
            .get(last.name.as_str())
            .into_iter()
            .chain(lm.state_by_last.get("*"))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .filter_map(|i| lm.state.get(i))
            .filter(|(_, ps)| ps.iter().any(|p| p.matches(segs)))
            .map(|(s, _)| s)
            .collect()
    }

    /// The retry construct with this path (a decorator, a call).
    pub fn retry(&self, lang: Language, segs: &[Segment]) -> Option<&RetryModel> {
        self.lang(lang)?
            .retries
            .iter()
            .find(|(_, pats)| pats.iter().any(|p| p.matches(segs)))
            .map(|(r, _)| r)
    }

    /// Every retry construct of a language, for structural shapes
    /// (adapters, workers).
    pub fn retries(&self, lang: Language) -> impl Iterator<Item = &RetryModel> {
        self.lang(lang)
            .into_iter()
            .flat_map(|lm| lm.retries.iter().map(|(r, _)| r))
    }

    /// Whether a call may enable retries of a `worker` (a queue given
    /// `attempts`).
    pub fn is_retry_enabler(&self, lang: Language, segs: &[Segment]) -> bool {
        self.lang(lang)
            .is_some_and(|lm| lm.retry_enablers.iter().any(|p| p.matches(segs)))
    }

    /// Whether `segs` matches one of a retry construct's patterns.
    pub fn retry_matches(&self, lang: Language, model: &RetryModel, segs: &[Segment]) -> bool {
        self.lang(lang).is_some_and(|lm| {
            lm.retries
                .iter()
                .any(|(r, pats)| std::ptr::eq(r, model) && pats.iter().any(|p| p.matches(segs)))
        })
    }

    /// The non-idempotent operation with this path.
    pub fn effect(&self, lang: Language, segs: &[Segment]) -> Option<&EffectModel> {
        self.lang(lang)?
            .effects
            .iter()
            .find(|(_, pats)| pats.iter().any(|p| p.matches(segs)))
            .map(|(e, _)| e)
    }

    /// Whether an exception type path names a failure to connect.
    pub fn is_connection_error(&self, lang: Language, segs: &[Segment]) -> bool {
        self.lang(lang)
            .is_some_and(|lm| lm.connection_errors.iter().any(|p| p.matches(segs)))
    }

    /// Whether a method name tests an error for a failed connection.
    pub fn is_connection_check(&self, lang: Language, name: &str) -> bool {
        self.lang(lang)
            .is_some_and(|lm| lm.connection_checks.iter().any(|c| c == name))
    }

    /// Whether `segs` matches one of these patterns (a retry condition's
    /// predicate constructors).
    pub fn retry_predicate(&self, _lang: Language, patterns: &[String], segs: &[Segment]) -> bool {
        patterns.iter().any(|p| Pattern::compile(p).matches(segs))
    }

    /// The query API whose source builds the start of this path, with the
    /// number of segments the source takes (the shortest match).
    pub fn query_source(&self, lang: Language, segs: &[Segment]) -> Option<(&QueryModel, usize)> {
        let lm = self.lang(lang)?;
        let mut best: Option<(usize, usize)> = None;
        for (qi, pat) in &lm.query_sources {
            if let Some(k) = pat.match_shortest_prefix(segs)
                && best.is_none_or(|(_, bk)| k < bk)
            {
                best = Some((*qi, k));
            }
        }
        let (qi, k) = best?;
        Some((lm.queries.get(qi)?, k))
    }

    /// The query API of a call that runs one query by itself.
    pub fn query_run(&self, lang: Language, segs: &[Segment]) -> Option<&QueryModel> {
        let lm = self.lang(lang)?;
        lm.query_runs
            .iter()
            .find(|(_, p)| p.matches(segs))
            .and_then(|(qi, _)| lm.queries.get(*qi))
    }

    /// Every query API of a language.
    pub fn queries(&self, lang: Language) -> &[QueryModel] {
        self.lang(lang).map_or(&[], |lm| lm.queries.as_slice())
    }

    /// The names a file must mention for some pattern of `table` to match a
    /// path in it, for the prefilter: every segment of a resolved path is an
    /// identifier (or module name) written in the file, so a pattern can only
    /// match where the names of all its literal segments are written; one
    /// clause per pattern. `None` when some pattern has no literal segment,
    /// so any file may match.
    pub fn anchors(&self, lang: Language, table: Table) -> Option<Needles> {
        let Some(lm) = self.lang(lang) else {
            return Some(Needles::default());
        };
        let patterns: Vec<&Pattern> = match table {
            Table::Calls => return self.call_anchors(lang, |_| true),
            Table::Types => lm.type_patterns.iter().map(|(_, p)| p).collect(),
            Table::Spawns => lm.spawns.iter().collect(),
            Table::State => lm.state.iter().flat_map(|(_, ps)| ps).collect(),
            Table::Retries => lm
                .retries
                .iter()
                .flat_map(|(_, ps)| ps)
                .chain(&lm.retry_enablers)
                .collect(),
            Table::Effects => return self.effect_anchors(lang, |_| true),
            Table::Queries => lm
                .query_sources
                .iter()
                .chain(&lm.query_runs)
                .map(|(_, p)| p)
                .collect(),
        };
        pattern_needles(patterns)
    }

    /// The needles of the `[[calls]]` patterns whose model `keep` accepts,
    /// as [`anchors`] gives them: a rule that acts only on some calls (those
    /// with a timeout, a response, a promise) needs only their names.
    ///
    /// [`anchors`]: Models::anchors
    pub fn call_anchors(
        &self,
        lang: Language,
        keep: impl Fn(&CallModel) -> bool,
    ) -> Option<Needles> {
        let Some(lm) = self.lang(lang) else {
            return Some(Needles::default());
        };
        pattern_needles(
            lm.by_last
                .values()
                .flatten()
                .filter(|(ci, _)| lm.calls.get(*ci).is_some_and(&keep))
                .map(|(_, p)| p),
        )
    }

    /// The needles of the `[[effects]]` patterns whose model `keep` accepts,
    /// as [`anchors`] gives them.
    ///
    /// [`anchors`]: Models::anchors
    pub fn effect_anchors(
        &self,
        lang: Language,
        keep: impl Fn(&EffectModel) -> bool,
    ) -> Option<Needles> {
        let Some(lm) = self.lang(lang) else {
            return Some(Needles::default());
        };
        pattern_needles(
            lm.effects
                .iter()
                .filter(|(e, _)| keep(e))
                .flat_map(|(_, ps)| ps),
        )
    }

    /// Every `[[state]]` pattern of a language with its role and kind, and
    /// the names a file must mention for it to match (as in [`anchors`]);
    /// `None` names when the pattern could match in any file.
    ///
    /// [`anchors`]: Models::anchors
    pub fn state_anchors(
        &self,
        lang: Language,
    ) -> Vec<(StateRole, StateKind, Option<crate::prefilter::Clause>)> {
        let Some(lm) = self.lang(lang) else {
            return Vec::new();
        };
        lm.state
            .iter()
            .flat_map(|(st, ps)| ps.iter().map(|p| (st.role, st.kind, p.anchor_groups())))
            .collect()
    }

    /// Every pattern text of every call model, for the prefilter and tests.
    pub fn pattern_count(&self) -> usize {
        self.langs
            .values()
            .map(|l| l.by_last.values().map(Vec::len).sum::<usize>())
            .sum()
    }
}

/// A clause per pattern, each of the names it needs written in the file;
/// `None` when one of them could match anywhere.
fn pattern_needles<'a>(patterns: impl IntoIterator<Item = &'a Pattern>) -> Option<Needles> {
    let mut out = Needles::default();
    for p in patterns {
        out.push_all(p.anchor_groups()?);
    }
    Some(out.normalized())
}

/// Expands a leading `<Type>` into one pattern per constructor.
fn expand(p: &str, lm: &LangModels, file: &str) -> Result<Vec<Pattern>, ModelError> {
    let Some(rest) = p.strip_prefix('<') else {
        return Ok(vec![Pattern::compile(p)]);
    };
    let Some((ty, tail)) = rest.split_once('>') else {
        return Ok(vec![Pattern::compile(p)]);
    };
    let Some(ti) = lm.types.iter().position(|t| t.name == ty) else {
        return Err(ModelError::UnknownType {
            file: file.to_string(),
            pattern: p.to_string(),
            ty: ty.to_string(),
        });
    };
    let tail = Pattern::compile(tail.trim_start_matches(['.', ':']));
    Ok(lm
        .type_patterns
        .iter()
        .filter(|(t, _)| *t == ti)
        .map(|(_, ctor)| {
            let mut toks = ctor.toks.clone();
            let type_len = toks.len();
            toks.extend(tail.toks.iter().cloned());
            Pattern {
                toks,
                type_len,
                type_index: Some(ti),
                text: p.to_string(),
            }
        })
        .collect())
}

/// The built-in models, parsed once.
pub fn builtin() -> &'static Models {
    static MODELS: OnceLock<Models> = OnceLock::new();
    MODELS.get_or_init(|| Models::load(BUILTIN).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_ir::Path;

    #[test]
    fn every_builtin_model_loads() {
        let m = Models::load(BUILTIN).unwrap();
        assert_eq!(m.files.len(), BUILTIN.len());
    }

    #[test]
    fn user_models_extend_the_builtins() {
        let user = "language = \"python\"\npackage = \"acme\"\n\n[[calls]]\npatterns = [\"acme.http.fetch()\", \"<requests.Session>.send()\"]\nkind = \"http\"\ntimeout = { kwarg = \"timeout\" }\n";
        let m = Models::with_user(&[("faultline.toml", user)]).unwrap();
        assert_eq!(m.files.len(), BUILTIN.len() + 1);
        let segs = Path::parse("acme.http.fetch()").segments;
        assert!(m.call(Language::Python, &segs).is_some());
        let send = Path::parse("requests.Session().send()").segments;
        assert!(m.call(Language::Python, &send).is_some());
        let bad = Models::with_user(&[(
            "faultline.toml",
            "language = \"python\"\npackage = \"x\"\nkinds = 1\n",
        )]);
        let err = bad.err().unwrap().to_string();
        assert!(
            err.contains("faultline.toml") && err.contains("kinds"),
            "{err}"
        );
    }

    #[test]
    fn patterns_match_paths() {
        let p = Pattern::compile("reqwest::Client::builder()..build().{get,post}()");
        assert!(
            p.matches(&Path::parse("reqwest.Client.builder().timeout().build().get()").segments)
        );
        assert!(p.matches(&Path::parse("reqwest.Client.builder().build().post()").segments));
        assert!(!p.matches(&Path::parse("reqwest.Client.builder().build().send()").segments));
        let any = Pattern::compile("logging.*.*()");
        assert!(any.matches(&Path::parse("logging.getLogger.error()").segments));
        assert!(!any.matches(&Path::parse("logging.error").segments));
    }

    #[test]
    fn type_patterns_expand_and_report_the_client() {
        let m = builtin();
        let segs = Path::parse("requests.Session().get()").segments;
        let hit = m.call(Language::Python, &segs).unwrap();
        assert_eq!(
            hit.client.map(|t| t.name.as_str()),
            Some("requests.Session")
        );
        assert_eq!(hit.client_len, 2);
        let dict = Path::parse("existing_requests.get()").segments;
        assert!(m.call(Language::Python, &dict).is_none());
    }
}
