//! The words agenda itself writes to people, in English, French and Spanish: the pages'
//! headings and labels, dates and times, the invite e-mails' sentences. What people typed
//! (titles, descriptions, names) is never translated.
//!
//! Messages are Project Fluent files, one per language (`locales/*.ftl`, compiled into the
//! binary), read through `fluent-bundle`. A translator sees whole sentences with named
//! placeholders and the plural and selector rules of their language, and never edits Rust.
//! The unit tests check the files against each other: every message in every language, the
//! same placeholders in each; a format error (an unknown message or a missing argument) panics
//! in debug builds, so every test that renders a page or an e-mail checks its messages too.
//!
//! **Bidirectional isolation.** Fluent wraps every placeholder in U+2068 / U+2069 (FSI / PDI)
//! by default, so a right-to-left name cannot reorder the sentence around it. Those marks must
//! not reach an e-mail header, a calendar, or text our own rules check (`domain::check_text`
//! refuses them), and calendar clients drop or show them. So isolation is off in every bundle,
//! and the one caller that needs it puts it back where it is needed: a page wraps text
//! someone typed in [`isolate`] before passing it in (a browser treats FSI…PDI as `<bdi>`).
//! Numbers and our own dates are never wrapped.
//!
//! **Dates.** Fluent's DATETIME() is not implemented in fluent-rs, and ICU4X's formatter would
//! add a dozen crates and their data for three languages. The names of weekdays and months
//! and the order of a full date are messages like any other (`weekday`, `month`, `date-full`,
//! `time-short`, `date-time`), so a translator owns them too; `tests/it/i18n.rs` checks them
//! against ICU's (CLDR's) full date and short time for every weekday and month, through the
//! Intl API of the Node.js the interop tests already run.

mod dates;

use std::fmt;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// A language agenda writes in. Adding one: a variant here, its line in [`Lang::ALL`], its
/// tag and own name, and its `locales/<tag>.ftl` with every message (README "Adding a
/// language").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Lang {
    #[default]
    En,
    Fr,
    Es,
}

/// The Fluent sources, in [`Lang::ALL`]'s order.
const SOURCES: [&str; 3] =
    [include_str!("locales/en.ftl"), include_str!("locales/fr.ftl"), include_str!("locales/es.ftl")];

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Es];

    /// The BCP 47 tag: `lang` attributes, `?lang=`, Content-Language.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Es => "es",
        }
    }

    /// The language's name in itself, as a language switch shows it.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Es => "Español",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The language of a BCP 47 tag, by its primary subtag (`fr-CH` is French), if we write
    /// it. Case-insensitive, as tags are.
    pub fn of(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        Lang::ALL.into_iter().find(|l| primary.eq_ignore_ascii_case(l.tag()))
    }

    /// The reader's choice from an `Accept-Language` header (RFC 9110 §12.5.4): the language we
    /// write with the highest weight, the earlier on a tie; `None` if none of them (then the
    /// page's own default applies, not English).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, u32)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = Lang::of(parts.next().unwrap_or_default().trim()) else { continue };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .map_or(Some(1000), quality);
            match weight {
                Some(w) if w > 0 && best.is_none_or(|(_, b)| w > b) => best = Some((lang, w)),
                _ => {}
            }
        }
        best.map(|(l, _)| l)
    }

    /// The message `id` without arguments.
    pub fn text(self, id: &str) -> String {
        self.format(id, &[])
    }

    /// The message `id` with its arguments. An unknown message or argument is a bug of ours
    /// (the tests render every message): debug builds panic, release builds log it and show
    /// what Fluent could make of it.
    pub fn format(self, id: &str, args: &[(&str, Arg)]) -> String {
        let bundle = &CATALOG[self.index()];
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            debug_assert!(false, "no message {id} in {self}");
            tracing::error!(message = id, lang = %self, "missing message");
            return id.to_owned();
        };
        let mut fluent_args = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent_args.set(*name, value.to_fluent());
        }
        let mut errors = Vec::new();
        let out = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            debug_assert!(false, "message {id} in {self}: {errors:?}");
            tracing::error!(message = id, lang = %self, errors = ?errors, "message format error");
        }
        out.into_owned()
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// An `Accept-Language` weight, in thousandths; `None` if malformed (the item is skipped).
fn quality(q: &str) -> Option<u32> {
    let q = q.trim();
    let (whole, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = format!("{frac:0<3}").parse::<u32>().ok()?;
    match whole {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

/// A message argument.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// Words: a name, a title, a date already formatted. Never isolated here (see the module
    /// doc); a page wraps typed text in [`isolate`] first.
    Str(&'a str),
    /// A count: plural rules select on it.
    Count(usize),
}

impl<'a> Arg<'a> {
    /// Borrowed: a message's arguments live only while it is formatted.
    fn to_fluent(self) -> FluentValue<'a> {
        match self {
            Arg::Str(s) => FluentValue::from(s),
            Arg::Count(n) => FluentValue::from(n),
        }
    }
}

/// Text someone typed, isolated for a sentence of a page: FSI … PDI, so a right-to-left name
/// keeps its place in a left-to-right sentence (and the reverse). Pages only: never in mail,
/// headers or calendars.
pub fn isolate(typed: &str) -> String {
    format!("\u{2068}{typed}\u{2069}")
}

/// The bundles, built at first use from the sources compiled in. A source that does not parse
/// is a bug caught by the unit tests, which build this first.
static CATALOG: LazyLock<Vec<FluentBundle<FluentResource>>> = LazyLock::new(|| {
    Lang::ALL
        .into_iter()
        .map(|lang| {
            let resource = FluentResource::try_new(SOURCES[lang.index()].to_owned())
                .unwrap_or_else(|(_, errors)| panic!("locales/{lang}.ftl does not parse: {errors:?}"));
            let id: LanguageIdentifier = lang.tag().parse().expect("our tags are valid");
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            bundle.set_use_isolating(false);
            bundle.add_resource(resource).unwrap_or_else(|e| panic!("locales/{lang}.ftl: {e:?}"));
            bundle
        })
        .collect()
});

#[cfg(test)]
mod tests;
