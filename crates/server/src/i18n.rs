//! Translations (Fluent files under `locales/`): Latvian by default, English
//! on request. The language is a cookie set by `/lang/{lv|en}`. A test
//! checks that both files define exactly the same messages.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::Loader;
use fluent_templates::fluent_bundle::FluentValue;
use unic_langid::{LanguageIdentifier, langid};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "lv",
        // Unicode isolation marks around arguments would end up in form
        // values and in text that screen readers spell out.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Lv,
    En,
}

static LV: LanguageIdentifier = langid!("lv");
static EN: LanguageIdentifier = langid!("en");

impl Lang {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "lv" => Some(Lang::Lv),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Lv => "lv",
            Lang::En => "en",
        }
    }

    fn id(self) -> &'static LanguageIdentifier {
        match self {
            Lang::Lv => &LV,
            Lang::En => &EN,
        }
    }

    /// The message `key`; the key itself if it is missing (a test makes
    /// sure none is).
    pub fn t(self, key: &str) -> String {
        LOCALES
            .try_lookup(self.id(), key)
            .unwrap_or_else(|| key.to_owned())
    }

    pub fn ta(self, key: &str, args: &[(&str, String)]) -> String {
        self.lookup(key, args).unwrap_or_else(|| key.to_owned())
    }

    fn lookup(self, key: &str, args: &[(&str, String)]) -> Option<String> {
        let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(k, v)| (Cow::Owned((*k).to_owned()), FluentValue::from(v.clone())))
            .collect();
        LOCALES.try_lookup_with_args(self.id(), key, &map)
    }

    /// A message key if it exists.
    pub fn try_t(self, key: &str) -> Option<String> {
        LOCALES.try_lookup(self.id(), key)
    }

    /// An enum value's label: `{prefix}-{value}`.
    pub fn label(self, prefix: &str, value: &str) -> String {
        self.t(&format!("{prefix}-{}", value.replace('_', "-")))
    }

    /// A field error in this language: `err-{code}` with the field's label
    /// and the rule's parameters.
    pub fn field_error(self, error: &makonis_types::FieldError) -> String {
        let key = match error.params.get("reason") {
            Some(reason) => format!("reason-{}", reason.replace('_', "-")),
            None => format!("err-{}", error.code.replace('_', "-")),
        };
        let field_key = format!("field-{}", error.field.replace('_', "-"));
        let field = self
            .try_t(&field_key)
            .unwrap_or_else(|| error.field.clone());
        let mut args: Vec<(&str, String)> = vec![("field", field)];
        for (k, v) in &error.params {
            args.push((k.as_str(), v.clone()));
        }
        self.lookup(&key, &args)
            .unwrap_or_else(|| error.message.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn keys(file: &str) -> BTreeSet<String> {
        file.lines()
            .filter(|l| !l.starts_with([' ', '#', '.', '\t']) && l.contains(" ="))
            .map(|l| l.split(" =").next().unwrap().trim().to_owned())
            .collect()
    }

    #[test]
    fn both_languages_define_the_same_messages() {
        let lv = keys(include_str!("../locales/lv/main.ftl"));
        let en = keys(include_str!("../locales/en/main.ftl"));
        let only_lv: Vec<_> = lv.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&lv).collect();
        assert!(
            only_lv.is_empty() && only_en.is_empty(),
            "only lv: {only_lv:?}; only en: {only_en:?}"
        );
        assert!(lv.len() > 100, "suspiciously few messages: {}", lv.len());
    }

    #[test]
    fn lookups_work_in_both_languages() {
        assert_eq!(Lang::Lv.t("nav-systems"), "Informācijas sistēmas");
        assert_eq!(Lang::En.t("nav-systems"), "Information systems");
        let e = makonis_types::FieldError::new("name", "too_long", "x").with_param("max", 200);
        assert_eq!(Lang::En.field_error(&e), "Name: at most 200 characters");
        assert_eq!(
            Lang::Lv.field_error(&e),
            "Nosaukums: ne vairāk kā 200 rakstzīmes"
        );
    }
}
