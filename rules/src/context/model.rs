//! The request-context models (`rules/models/<lang>/request_context.toml`).

use std::sync::OnceLock;

use faultline_ir::Language;
use serde::{Deserialize, Serialize};

/// How handlers of a language's web frameworks are recognized.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerModel {
    /// Last segment of a called decorator / route attribute.
    #[serde(default)]
    pub decorators: Vec<String>,
    /// First-parameter names of function views.
    #[serde(default)]
    pub view_params: Vec<String>,
    /// Imports that make `view_params` meaningful.
    #[serde(default)]
    pub frameworks: Vec<String>,
    /// Methods of class-based views and middleware.
    #[serde(default)]
    pub view_methods: Vec<String>,
    /// Calls whose function arguments are handlers.
    #[serde(default)]
    pub registrations: Vec<String>,
    /// Option keys holding a handler.
    #[serde(default)]
    pub handler_keys: Vec<String>,
    /// Function names that are handlers by convention (Next.js).
    #[serde(default)]
    pub names: Vec<String>,
    /// Leading parameter names of handlers and middleware.
    #[serde(default)]
    pub signatures: Vec<Vec<String>>,
    /// Parameter type names that make a function a handler.
    #[serde(default)]
    pub param_types: Vec<String>,
    /// warp: combinators whose closures are handlers.
    #[serde(default)]
    pub filter_combinators: Vec<String>,
    /// warp: the path root of a filter chain.
    #[serde(default)]
    pub filter_roots: Vec<String>,
}

/// Where a request object is and what its members hold.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestModel {
    /// Paths that are the current request.
    #[serde(default)]
    pub globals: Vec<String>,
    /// Parameter names holding a request.
    #[serde(default)]
    pub params: Vec<String>,
    /// Parameter type names holding a request.
    #[serde(default)]
    pub param_types: Vec<String>,
    /// Member chains holding the peer address.
    #[serde(default)]
    pub client_address: Vec<String>,
    /// Member chains holding addresses taken from forwarding headers.
    #[serde(default)]
    pub forwarded: Vec<String>,
    /// Member chains holding the Host.
    #[serde(default)]
    pub host: Vec<String>,
    /// Member chains reading a header (`$` is its name).
    #[serde(default)]
    pub headers: Vec<String>,
    /// Calls returning the client address.
    #[serde(default)]
    pub address_calls: Vec<String>,
    /// Header reads that need no request object.
    #[serde(default)]
    pub header_sources: Vec<String>,
    /// Parameter defaults binding a header by parameter name.
    #[serde(default)]
    pub header_params: Vec<String>,
    /// Parameter decorators binding the client address.
    #[serde(default)]
    pub address_param_decorators: Vec<String>,
    /// Parameter decorators binding a header.
    #[serde(default)]
    pub header_param_decorators: Vec<String>,
    /// Parameter types that are the client address.
    #[serde(default)]
    pub address_param_types: Vec<String>,
    /// Parameter types that are a header map.
    #[serde(default)]
    pub header_map_types: Vec<String>,
    /// Member chains of a header map reading a header.
    #[serde(default)]
    pub header_map_reads: Vec<String>,
    /// Calls that keep an address while converting it.
    #[serde(default)]
    pub carriers: Vec<String>,
    /// Settings that make the address the one trusted proxies saw.
    #[serde(default)]
    pub proxy_settings: Vec<String>,
}

/// Which headers mean what.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderNames {
    /// Forwarding headers carrying a client address.
    #[serde(default)]
    pub forwarded: Vec<String>,
    /// Headers carrying the Host.
    #[serde(default)]
    pub host: Vec<String>,
    /// Caller-set identity or privilege headers (`*` ends a prefix).
    #[serde(default)]
    pub identity: Vec<String>,
    /// Words that make a header a credential.
    #[serde(default)]
    pub not_identity: Vec<String>,
    /// Headers set by an SSO proxy.
    #[serde(default)]
    pub sso: Vec<String>,
    /// Settings naming the SSO proxy's header (`REMOTE_USER_HEADER`): a read
    /// of the header they name is a read of `remote-user`.
    #[serde(default)]
    pub sso_settings: Vec<String>,
}

/// One language's request-context model.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContextModel {
    /// `python`, `typescript` or `rust`.
    pub language: String,
    /// Handler recognition.
    #[serde(default)]
    pub handlers: HandlerModel,
    /// The request object.
    #[serde(default)]
    pub request: RequestModel,
    /// Header names.
    #[serde(default)]
    pub headers: HeaderNames,
}

impl HeaderNames {
    /// Whether a (normalized) header name is a caller-set identity claim.
    pub fn is_identity(&self, name: &str) -> bool {
        !self.not_identity.iter().any(|w| name.contains(w.as_str()))
            && self.identity.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == p,
            })
    }
}

/// The embedded request-context models.
pub const FILES: &[(&str, &str)] = &[
    (
        "python/request_context.toml",
        include_str!("../../models/python/request_context.toml"),
    ),
    (
        "typescript/request_context.toml",
        include_str!("../../models/typescript/request_context.toml"),
    ),
    (
        "rust/request_context.toml",
        include_str!("../../models/rust/request_context.toml"),
    ),
];

/// The model of a language (an empty one if it failed to load).
pub fn for_language(lang: Language) -> &'static ContextModel {
    static MODELS: OnceLock<Vec<ContextModel>> = OnceLock::new();
    static EMPTY: OnceLock<ContextModel> = OnceLock::new();
    let all = MODELS.get_or_init(|| {
        FILES
            .iter()
            .filter_map(|(_, text)| toml::from_str::<ContextModel>(text).ok())
            .collect()
    });
    all.iter()
        .find(|m| m.language == lang.model_name())
        .unwrap_or_else(|| EMPTY.get_or_init(ContextModel::default))
}

/// The model of `lang` (`base`, or the built-in one) with the lists of a
/// project's `request_context` table appended; an unknown key is an error.
pub fn extend(
    lang: &str,
    base: Option<&ContextModel>,
    ext: &toml::Table,
) -> Result<ContextModel, String> {
    let base = match base {
        Some(b) => b.clone(),
        None => FILES
            .iter()
            .filter_map(|(_, text)| toml::from_str::<ContextModel>(text).ok())
            .find(|m| m.language == lang)
            .unwrap_or_default(),
    };
    let toml::Value::Table(mut table) = toml::Value::try_from(&base).map_err(|e| e.to_string())?
    else {
        return Err("the built-in model is not a table".to_string());
    };
    merge(&mut table, ext);
    table.insert(
        "language".to_string(),
        toml::Value::String(lang.to_string()),
    );
    toml::Value::Table(table)
        .try_into::<ContextModel>()
        .map_err(|e| e.to_string().trim_end().to_string())
}

/// Appends arrays and merges tables of `ext` into `base`; other values
/// replace.
fn merge(base: &mut toml::Table, ext: &toml::Table) {
    for (k, v) in ext {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Array(a)), toml::Value::Array(b)) => a.extend(b.iter().cloned()),
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_context_model_loads() {
        for (name, text) in FILES {
            let parsed: Result<ContextModel, _> = toml::from_str(text);
            assert!(parsed.is_ok(), "{name}: {:?}", parsed.err());
        }
    }

    #[test]
    fn a_project_extends_the_request_context() {
        let ext: toml::Table = toml::from_str(
            "[handlers]\ndecorators = [\"acme_endpoint\"]\n[headers]\nidentity = [\"x-acme-user\"]",
        )
        .unwrap();
        let m = extend("python", None, &ext).unwrap();
        assert!(m.handlers.decorators.iter().any(|d| d == "route"));
        assert!(m.handlers.decorators.iter().any(|d| d == "acme_endpoint"));
        assert!(m.headers.is_identity("x-acme-user"));
        let bad: toml::Table = toml::from_str("[handlers]\ndecorator = [\"x\"]").unwrap();
        assert!(extend("python", None, &bad).is_err());
    }
}
