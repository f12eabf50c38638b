//! Invites: what was sent and what failed, and the answers speakers and invited participants
//! send back.

use std::collections::HashMap;

use super::now;
use super::{Agenda, Fence};
use crate::domain::{
    Attempt, AttemptResult, InviteMessage, InviteMethod, InviteRecord, PersonId, Session, SessionId, SlotId,
    Violations, participant_role, role_on,
};
use crate::error::{Error, Reason};
use crate::ics::itip::{self, Reply};

impl Agenda {
    /// What was sent and what failed, for each slot and person of a session.
    pub async fn invite_records(&self, session: &SessionId) -> Result<Vec<InviteRecord>, Error> {
        Ok(self.store.invite_records(session).await?)
    }

    /// Records messages as sent (idempotent: marking twice, or a message older than one
    /// recorded, changes nothing); every session named must exist. A REQUEST keeps the role
    /// the person has on the slot, for the CANCEL that may follow.
    pub async fn mark_invites_sent(&self, messages: Vec<InviteMessage>) -> Result<(), Error> {
        self.record_invites(messages.into_iter().map(|m| (m, None)).collect()).await
    }

    /// Records messages the sender could not deliver, each with its reason (kept until that
    /// message or a newer one is sent).
    pub async fn mark_invites_failed(&self, failures: Vec<(InviteMessage, String)>) -> Result<(), Error> {
        self.record_invites(failures.into_iter().map(|(m, reason)| (m, Some(reason))).collect()).await
    }

    /// Records what happened to one message as the holder of the sender's role: refused
    /// ([`StoreError::Deposed`](crate::store::StoreError::Deposed)) once the term of `fence` is
    /// over. `None`: no term to check (a store with one user).
    pub async fn mark_invite_as(
        &self,
        fence: Option<&Fence>,
        message: InviteMessage,
        failure: Option<String>,
    ) -> Result<(), Error> {
        self.record_invites_fenced(vec![(message, failure)], fence).await
    }

    /// Records what happened to messages: sent (`None`) or failed with a reason; all or none.
    async fn record_invites(&self, reports: Vec<(InviteMessage, Option<String>)>) -> Result<(), Error> {
        self.record_invites_fenced(reports, None).await
    }

    /// [`Self::record_invites`], fenced by a term of the sender's role when given.
    async fn record_invites_fenced(
        &self,
        reports: Vec<(InviteMessage, Option<String>)>,
        fence: Option<&Fence>,
    ) -> Result<(), Error> {
        let mut sessions: HashMap<SessionId, Session> = HashMap::new();
        let mut attempts = Vec::with_capacity(reports.len());
        let time = now();
        for (message, failure) in reports {
            if !sessions.contains_key(&message.session) {
                let s = self.get_session(&message.session).await?;
                sessions.insert(s.id.clone(), s);
            }
            let s = &sessions[&message.session];
            let result = match failure {
                Some(reason) => AttemptResult::Failed { reason },
                None if message.method == InviteMethod::Cancel => AttemptResult::Sent { role: None },
                None => {
                    let role = match &message.slot {
                        Some(slot) => s.slots.iter().find(|sl| &sl.id == slot).map(|sl| role_on(sl, &message.person)),
                        None => participant_role(s, &message.person),
                    };
                    AttemptResult::Sent { role }
                }
            };
            attempts.push(Attempt { message, session_created: s.meta.create_time, time, result });
        }
        self.write(|st| st.record_invites(&attempts, fence)).await?;
        Ok(())
    }

    /// Applies a speaker's answer to the invite for `slot`: the person on the slot whose
    /// address is the reply's attendee gets its status as their answer on that slot. Refused
    /// (the store untouched) when the reply breaks a rule that needs the session
    /// (`itip::check_reply`: a SEQUENCE never sent, another organizer), when the address is
    /// not an attendee's, or when the answer is to an older version of the slot.
    pub async fn apply_reply(
        &self,
        session: &SessionId,
        slot: &SlotId,
        reply: &Reply,
    ) -> Result<(Session, PersonId), Error> {
        let (email, sequence, status) = (reply.attendee.as_str(), reply.sequence, reply.status);
        let current = self.get_session(session).await?;
        itip::check_reply(reply, &current, current.slot(slot)?).map_err(|e| {
            let mut v = Violations::new("");
            v.add("ics", e.to_string());
            Error::from(crate::domain::Error::Invalid(v))
        })?;
        let people = self.people_of(&current).await?;
        let on_slot = current.slot(slot)?;
        let person = people
            .iter()
            .filter(|p| on_slot.speakers.contains(&p.id) || on_slot.moderators.contains(&p.id))
            .find(|p| p.email.as_ref().is_some_and(|e| e.as_str().eq_ignore_ascii_case(email)))
            .map(|p| p.id.clone())
            .ok_or_else(|| {
                Error::refused(
                    Reason::NotAnAttendee,
                    format!("{email} is not the address of a speaker or moderator of slot \"{slot}\""),
                    [("session_id", session.to_string()), ("slot_id", slot.to_string())],
                )
            })?;
        let updated = self.update_session(session, None, |s| s.record_reply(slot, &person, sequence, status)).await?;
        Ok((updated, person))
    }

    /// Applies an invited participant's answer to the session's invite: the participant
    /// whose address is the reply's attendee gets its status on the participant list, as
    /// their answer to that SEQUENCE. Refused (the store untouched) as [`Self::apply_reply`]
    /// refuses, when the session does not invite its participants or the address is no
    /// participant's (someone not invited), and when the answer is to an older version of the
    /// session.
    pub async fn apply_participant_reply(
        &self,
        session: &SessionId,
        reply: &Reply,
    ) -> Result<(Session, PersonId), Error> {
        let (email, sequence, status) = (reply.attendee.as_str(), reply.sequence, reply.status);
        let current = self.get_session(session).await?;
        itip::check_reply_at(reply, &current, current.sequence).map_err(|e| {
            let mut v = Violations::new("");
            v.add("ics", e.to_string());
            Error::from(crate::domain::Error::Invalid(v))
        })?;
        let not_invited = || {
            Error::refused(
                Reason::NotAnAttendee,
                format!("{email} is not the address of a participant invited to session \"{session}\""),
                [("session_id", session.to_string())],
            )
        };
        if !current.invite_participants {
            return Err(not_invited());
        }
        let people = self.people_of(&current).await?;
        let person = people
            .iter()
            .filter(|p| current.participants.iter().any(|q| q.person == p.id))
            .find(|p| p.email.as_ref().is_some_and(|e| e.as_str().eq_ignore_ascii_case(email)))
            .map(|p| p.id.clone())
            .ok_or_else(not_invited)?;
        let updated =
            self.update_session(session, None, |s| s.record_participant_reply(&person, sequence, status)).await?;
        Ok((updated, person))
    }
}
