//! Parsing that cannot lose a violation: a value that failed to parse is `Err(Reported)`, and
//! `Reported` is only made by recording why.
//!
//! A request is parsed field by field into one [`Violations`] collector, so a client learns
//! every problem in one answer. A field that must hold a value (an id, a participant) is a
//! `Result<T, Reported>` rather than an `Option<T>` whose `None` the caller would have to trust
//! was recorded; the command is built from those results inside [`request`], which answers
//! with every violation instead. Fields that may stay unset (a patch's, an optional time) keep
//! their `Option`: there `None` is a value, and `request` refuses whenever anything was
//! recorded.

use std::fmt;

use crate::domain::Violations;

/// Proof that a violation was recorded: the error of a field that failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported(());

/// Recording into a request's collector, with the proof in return.
pub trait Report {
    /// Records that `field` is invalid for `description`.
    fn reject(&mut self, field: impl AsRef<str>, description: impl Into<String>) -> Reported;

    /// Keeps the value of a parse, or records its error against `field`.
    fn parsed<T, E: fmt::Display>(&mut self, field: impl AsRef<str>, r: Result<T, E>) -> Result<T, Reported>;
}

impl Report for Violations {
    fn reject(&mut self, field: impl AsRef<str>, description: impl Into<String>) -> Reported {
        self.add(field, description);
        Reported(())
    }

    fn parsed<T, E: fmt::Display>(&mut self, field: impl AsRef<str>, r: Result<T, E>) -> Result<T, Reported> {
        r.map_err(|e| self.reject(field, e.to_string()))
    }
}

/// Each of `items` parsed by `parse` (given its index), or `Reported` once every item has been
/// tried, so that each malformed item is recorded, not only the first.
pub fn each<I, T>(
    items: impl IntoIterator<Item = I>,
    mut parse: impl FnMut(usize, I) -> Result<T, Reported>,
) -> Result<Vec<T>, Reported> {
    let parsed: Vec<Result<T, Reported>> = items.into_iter().enumerate().map(|(i, x)| parse(i, x)).collect();
    parsed.into_iter().collect()
}

/// What `parse` makes of a part of a request, or `Reported` when it recorded a violation: for
/// a part whose fields are parsed through a table, where each row records its own.
pub fn scoped<T>(v: &mut Violations, parse: impl FnOnce(&mut Violations) -> T) -> Result<T, Reported> {
    let before = v.violations().len();
    let value = parse(v);
    if v.violations().len() > before { Err(Reported(())) } else { Ok(value) }
}

/// The command `parse` makes of one request, or every violation it recorded.
///
/// The collector is made here and handed to `parse`, so a `Reported` it returns was recorded
/// in it, and a request that recorded anything is refused even if a command was built.
pub fn request<T>(parse: impl FnOnce(&mut Violations) -> Result<T, Reported>) -> Result<T, Violations> {
    let mut v = Violations::new("");
    let parsed = parse(&mut v);
    match (parsed, v.into_result()) {
        (Ok(command), Ok(())) => Ok(command),
        (_, Err(v)) => Err(v),
        // Only a `Reported` made outside this collector lands here: refused all the same.
        (Err(Reported(())), Ok(())) => Err(Violations::new("")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_refused_with_every_violation_even_when_its_values_parsed() {
        let r = request(|v| {
            let id = v.parsed("id", "7".parse::<u32>());
            v.add("title", "is required");
            id
        });
        let fields: Vec<String> = r.unwrap_err().violations().iter().map(|x| x.field.clone()).collect();
        assert_eq!(fields, ["title"]);
    }

    #[test]
    fn each_item_is_tried_and_reported() {
        let mut v = Violations::new("");
        let r = each(["1", "x", "y"], |i, s| v.parsed(format!("ids[{i}]"), s.parse::<u32>()));
        assert!(r.is_err());
        let fields: Vec<String> = v.violations().iter().map(|x| x.field.clone()).collect();
        assert_eq!(fields, ["ids[1]", "ids[2]"]);
        assert_eq!(request(|_| Ok(5)), Ok(5));
    }
}
