//! Everything that talks to mail servers: the built-in SMTP sender that drains the invite
//! outbox ([`smtp`]), the poller that reads iTIP replies from the organizer's mailbox over
//! IMAP ([`mailbox`]), and the one parser of their server URLs ([`url`]). The iMIP message
//! itself is a format, not a transport: it is [`crate::invites::imip`]'s, which this module
//! uses (so the dependency runs one way, mail -> invites).
//!
//! Each subsystem owns its settings type ([`smtp::SmtpSettings`], [`mailbox::MailboxSettings`]);
//! the configuration builds them. Nothing here reads the configuration itself.

pub mod mailbox;
pub mod smtp;
pub mod url;
