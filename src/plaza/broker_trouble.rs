//! Why the broker would not have us, said as an operator needs to hear it: credentials
//! refused, a broker that does not speak MQTT 5, a TLS failure, a broker that is
//! simply not there, or a session another client took over. The transport backs off
//! further on the first two, which retrying does not fix, and `/api/status` and a
//! metric show the last cause.

use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, DisconnectReasonCode};
use rumqttc::v5::{ConnectionError, StateError};
use serde::Serialize;
use std::io::ErrorKind;

/// What went wrong with the broker, as a metric label and a status field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Cause {
    /// The broker refused the user name or password.
    Credentials,
    /// The broker refused MQTT 5 in its CONNACK.
    Protocol,
    /// The broker hung up at CONNECT: it may not speak MQTT 5, may expect TLS, or may
    /// not be ready yet; retried at the usual pace, since it may be the last.
    Closed,
    /// The TLS handshake failed (certificate, name, protocol).
    Tls,
    /// The broker refused the connection for another stated reason.
    Refused,
    /// Nothing answered, or the connection could not be made.
    Unreachable,
    /// An established connection was lost.
    Lost,
    /// Another client connected with this process's client ID, and the broker ended
    /// this process's session (see [`super::client_id`]).
    TakenOver,
}

impl Cause {
    /// Every cause, for declaring the metric's series at start.
    pub(crate) const ALL: [Cause; 8] = [
        Cause::Credentials,
        Cause::Protocol,
        Cause::Closed,
        Cause::Tls,
        Cause::Refused,
        Cause::Unreachable,
        Cause::Lost,
        Cause::TakenOver,
    ];

    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Cause::Credentials => "credentials",
            Cause::Protocol => "protocol",
            Cause::Closed => "closed",
            Cause::Tls => "tls",
            Cause::Refused => "refused",
            Cause::Unreachable => "unreachable",
            Cause::Lost => "lost",
            Cause::TakenOver => "taken_over",
        }
    }

    /// Whether trying again soon cannot help: an operator has to change something.
    pub(crate) fn needs_an_operator(self) -> bool {
        matches!(self, Cause::Credentials | Cause::Protocol)
    }
}

/// Classifies `err`; `was_connected` says whether the broker had accepted this
/// connection (a CONNACK) before it failed, and `password_sources` where an operator
/// gives the password. Returns the cause and one sentence.
pub(crate) fn explain(err: &ConnectionError, was_connected: bool, password_sources: &str) -> (Cause, String) {
    use ConnectReturnCode as Code;
    if let ConnectionError::MqttState(StateError::ServerDisconnect {
        reason_code: DisconnectReasonCode::SessionTakenOver,
        ..
    }) = err
    {
        return (
            Cause::TakenOver,
            format!(
                "the broker ended this process's session: another client connected with its client ID \
                 (MQTT 5 reason 0x8E, session taken over). {WHO_HAS_THE_ID}"
            ),
        );
    }
    if was_connected {
        return (Cause::Lost, format!("lost the plaza broker ({err})"));
    }
    match err {
        ConnectionError::ConnectionRefused(code @ (Code::BadUserNamePassword | Code::NotAuthorized)) => (
            Cause::Credentials,
            format!(
                "the broker refused these credentials ({code:?}): check --mqtt-user and the password \
                 ({password_sources})"
            ),
        ),
        ConnectionError::ConnectionRefused(
            code @ (Code::UnsupportedProtocolVersion | Code::RefusedProtocolVersion),
        ) => (
            Cause::Protocol,
            format!("the broker refused MQTT 5 ({code:?}); {NEEDS_MQTT5}"),
        ),
        ConnectionError::ConnectionRefused(code) => {
            (Cause::Refused, format!("the broker refused the connection ({code:?})"))
        }
        ConnectionError::MqttState(StateError::ConnectionAborted | StateError::Deserialization(_))
        | ConnectionError::NotConnAck(_) => (
            Cause::Closed,
            format!("the broker closed the connection or answered CONNECT with something else ({err}): {NEEDS_MQTT5}"),
        ),
        ConnectionError::Io(io)
            if matches!(
                io.kind(),
                ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof | ErrorKind::ConnectionAborted
            ) =>
        {
            (
                Cause::Closed,
                format!("the broker closed the connection at CONNECT ({io}): {NEEDS_MQTT5}"),
            )
        }
        ConnectionError::Tls(tls) => (Cause::Tls, format!("TLS with the broker failed: {tls}")),
        other => (Cause::Unreachable, format!("plaza broker unreachable ({other})")),
    }
}

/// Whether `err` ended a connection the broker had accepted by the broker closing it,
/// with no reason nara could read: what a takeover looks like on mosquitto, and also a
/// broker going away. [`taken_over_probably`] or [`lost_after_close`] tells which, once
/// nara asked again. A reset counts too: a broker that closes a connection while nara
/// is still writing to it answers the write with one.
pub(crate) fn closed_by_broker(err: &ConnectionError) -> bool {
    match err {
        ConnectionError::MqttState(StateError::ConnectionAborted) => true,
        ConnectionError::MqttState(StateError::Io(io)) | ConnectionError::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::UnexpectedEof
                | ErrorKind::BrokenPipe
        ),
        _ => false,
    }
}

/// The broker closed the connection it had accepted, and took this process back at once.
pub(crate) fn taken_over_probably() -> String {
    format!(
        "the broker closed the connection and took this process back at once, so it stayed up: another client \
         probably connected with this process's client ID (session taken over). {WHO_HAS_THE_ID}"
    )
}

/// The broker closed the connection it had accepted, and did not take this process back
/// at once.
pub(crate) fn lost_after_close() -> String {
    "lost the plaza broker: it closed the connection, and did not answer again at once".to_string()
}

/// Who can have a client ID that only this process knows.
const WHO_HAS_THE_ID: &str = "Only this process knows that ID: either a copy of this process runs (a restored \
                              snapshot, a fork, two processes started from one saved state), or the ID leaked (a \
                              broker that publishes its log under $SYS, a broker log others can read). nara goes on \
                              under a new client ID";

/// The likely reason a broker hangs up on CONNECT.
const NEEDS_MQTT5: &str = "it may not speak MQTT 5, which nara needs (mosquitto 1.6 or later, EMQX, HiveMQ, \
                           VerneMQ and NanoMQ do; see the plaza chapter), or it expects TLS (mqtts://), or it is not \
                           ready yet";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_password_is_named_as_such() {
        let (cause, text) = explain(
            &ConnectionError::ConnectionRefused(ConnectReturnCode::NotAuthorized),
            false,
            "--mqtt-password-file or the credential",
        );
        assert_eq!(cause, Cause::Credentials);
        assert!(text.contains("refused these credentials (NotAuthorized)"), "{text}");
        assert!(text.ends_with("(--mqtt-password-file or the credential)"), "{text}");
        assert!(cause.needs_an_operator());
    }

    #[test]
    fn a_hang_up_at_connect_points_at_mqtt_5() {
        let (cause, text) = explain(&ConnectionError::MqttState(StateError::ConnectionAborted), false, "");
        assert_eq!(cause, Cause::Closed);
        assert!(text.contains("MQTT 5"), "{text}");
        assert!(!cause.needs_an_operator(), "a broker still starting hangs up too");
    }

    #[test]
    fn a_hang_up_after_connack_is_a_lost_connection() {
        let (cause, _) = explain(&ConnectionError::MqttState(StateError::ConnectionAborted), true, "");
        assert_eq!(cause, Cause::Lost);
        assert!(!cause.needs_an_operator());
    }

    #[test]
    fn a_session_the_broker_says_was_taken_over_is_named_so() {
        let said = ConnectionError::MqttState(StateError::ServerDisconnect {
            reason_code: DisconnectReasonCode::SessionTakenOver,
            reason_string: None,
        });
        let (cause, text) = explain(&said, true, "");
        assert_eq!(cause, Cause::TakenOver);
        assert!(text.contains("0x8E"), "{text}");
        assert!(text.contains("a copy of this process"), "{text}");
        assert!(!cause.needs_an_operator());
        assert!(!closed_by_broker(&said), "the broker gave its reason");
    }

    #[test]
    fn a_close_with_no_reason_is_asked_about_and_anything_else_is_not() {
        assert!(closed_by_broker(&ConnectionError::MqttState(
            StateError::ConnectionAborted
        )));
        for kind in [ErrorKind::ConnectionReset, ErrorKind::BrokenPipe] {
            assert!(closed_by_broker(&ConnectionError::Io(kind.into())), "{kind:?}");
            assert!(closed_by_broker(&ConnectionError::MqttState(StateError::Io(
                kind.into()
            ))));
        }
        let gone = ConnectionError::Io(ErrorKind::HostUnreachable.into());
        assert!(!closed_by_broker(&gone), "a network that went away is no close");
        assert!(!closed_by_broker(&ConnectionError::MqttState(
            StateError::AwaitPingResp
        )));
        assert!(taken_over_probably().contains("probably"));
        assert!(lost_after_close().starts_with("lost the plaza broker"));
    }

    #[test]
    fn nothing_listening_is_unreachable() {
        let refused = std::io::Error::from(ErrorKind::ConnectionRefused);
        let (cause, text) = explain(&ConnectionError::Io(refused), false, "");
        assert_eq!(cause, Cause::Unreachable);
        assert!(text.starts_with("plaza broker unreachable"), "{text}");
    }
}
