//! Settings that take one of a few named values (`--truncation head|tail|head+tail`).
//!
//! The enum that owns such a setting (in the crate that uses it) also says how its values
//! are chosen by name: which values are offered, each one's name, the other spellings
//! accepted and one line of help. The command line reads exactly this through one adapter,
//! so the values are listed once, beside the enum, and no crate re-declares them.

/// An enum whose values are chosen by name (a flag's value, a sweep file's value).
///
/// ```
/// use textclf_core::Choices;
///
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// enum Side { Left, Right }
///
/// impl Choices for Side {
///     const VALUES: &'static [Side] = &[Side::Left, Side::Right];
///     fn name(self) -> &'static str {
///         match self { Side::Left => "left", Side::Right => "right" }
///     }
///     fn aliases(self) -> &'static [&'static str] {
///         match self { Side::Left => &["l"], Side::Right => &[] }
///     }
/// }
///
/// assert_eq!(Side::from_name("l"), Some(Side::Left));
/// assert_eq!(Side::from_name("Right"), None);
/// assert_eq!(Side::names(), "left, right");
/// ```
pub trait Choices: Copy + PartialEq + Send + Sync + 'static {
    /// The values offered, in the order help lists them.
    const VALUES: &'static [Self];

    /// The value's name: what help lists, what is typed, and what runs record.
    fn name(self) -> &'static str;

    /// One line on the value for help, without a final period; `""` for none.
    fn help(self) -> &'static str {
        ""
    }

    /// Other spellings accepted for the value (help does not list them).
    fn aliases(self) -> &'static [&'static str] {
        &[]
    }

    /// The offered value with this name or alias, spelled exactly.
    fn from_name(name: &str) -> Option<Self> {
        Self::VALUES
            .iter()
            .copied()
            .find(|v| v.name() == name || v.aliases().contains(&name))
    }

    /// The names of the offered values, comma-separated, for messages.
    fn names() -> String {
        Self::VALUES
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
