//! Everything that speaks e-mail: the iMIP message an invite is sent as ([`imip`]), the
//! built-in SMTP sender that drains the invite outbox ([`smtp`]), the poller that reads
//! iTIP replies from the organizer's mailbox over IMAP ([`mailbox`]), and the one parser of
//! their server URLs ([`url`]).
//!
//! Each subsystem owns its settings type ([`smtp::SmtpSettings`], [`mailbox::MailboxSettings`]);
//! the configuration builds them. Nothing here reads the configuration itself.

pub mod imip;
pub mod mailbox;
pub mod smtp;
pub mod url;

pub(crate) use imip::header_text;
pub use imip::{Mail, render};
