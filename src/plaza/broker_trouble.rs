//! Why the broker would not have us, said as an operator needs to hear it: credentials
//! refused, a broker that does not speak MQTT 5, a TLS failure, or a broker that is
//! simply not there. The transport backs off further on the first two, which retrying
//! does not fix, and `/api/status` and a metric show the last cause.

use rumqttc::v5::mqttbytes::v5::ConnectReturnCode;
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
}

impl Cause {
    /// Every cause, for declaring the metric's series at start.
    pub(crate) const ALL: [Cause; 7] = [
        Cause::Credentials,
        Cause::Protocol,
        Cause::Closed,
        Cause::Tls,
        Cause::Refused,
        Cause::Unreachable,
        Cause::Lost,
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
    fn nothing_listening_is_unreachable() {
        let refused = std::io::Error::from(ErrorKind::ConnectionRefused);
        let (cause, text) = explain(&ConnectionError::Io(refused), false, "");
        assert_eq!(cause, Cause::Unreachable);
        assert!(text.starts_with("plaza broker unreachable"), "{text}");
    }
}
