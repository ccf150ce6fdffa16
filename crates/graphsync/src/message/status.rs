//! Response status codes and link actions.

/// A response's status (`stat`), every code of go-graphsync's schema.
///
/// ```
/// use tau_graphsync::Status;
/// assert_eq!(Status::from_code(21), Some(Status::CompletedPartial));
/// assert!(Status::CompletedPartial.is_terminal() && Status::CompletedPartial.is_success());
/// assert!(!Status::PartialResponse.is_terminal());
/// assert!(Status::Busy.is_error());
/// assert_eq!(Status::from_code(16), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// 10: the request was received.
    Acknowledged,
    /// 11: other peers may hold the content.
    AdditionalPeers,
    /// 12: the request needs more payment.
    NotEnoughGas,
    /// 13: another protocol should be used.
    OtherProtocol,
    /// 14: more responses follow.
    PartialResponse,
    /// 15: the responder paused the request.
    Paused,
    /// 20: every block the selector reaches was sent.
    CompletedFull,
    /// 21: the traversal ended but some blocks were missing.
    CompletedPartial,
    /// 30: the request was refused (e.g. its selector is unsupported or too deep).
    Rejected,
    /// 31: the responder is busy; try again later.
    Busy,
    /// 32: the request failed for another reason.
    Unknown,
    /// 33: the request was refused for legal reasons.
    Legal,
    /// 34: the root block is not available.
    ContentNotFound,
    /// 35: the request was cancelled.
    Cancelled,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 14] = [
        Status::Acknowledged,
        Status::AdditionalPeers,
        Status::NotEnoughGas,
        Status::OtherProtocol,
        Status::PartialResponse,
        Status::Paused,
        Status::CompletedFull,
        Status::CompletedPartial,
        Status::Rejected,
        Status::Busy,
        Status::Unknown,
        Status::Legal,
        Status::ContentNotFound,
        Status::Cancelled,
    ];

    /// The wire code.
    pub fn code(self) -> u8 {
        match self {
            Status::Acknowledged => 10,
            Status::AdditionalPeers => 11,
            Status::NotEnoughGas => 12,
            Status::OtherProtocol => 13,
            Status::PartialResponse => 14,
            Status::Paused => 15,
            Status::CompletedFull => 20,
            Status::CompletedPartial => 21,
            Status::Rejected => 30,
            Status::Busy => 31,
            Status::Unknown => 32,
            Status::Legal => 33,
            Status::ContentNotFound => 34,
            Status::Cancelled => 35,
        }
    }

    /// The status with this wire code, if there is one.
    pub fn from_code(code: i128) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|s| i128::from(s.code()) == code)
    }

    /// Whether the request is over (codes 20 and above).
    pub fn is_terminal(self) -> bool {
        self.code() >= 20
    }

    /// Whether the request ended successfully (20 or 21).
    pub fn is_success(self) -> bool {
        matches!(self, Status::CompletedFull | Status::CompletedPartial)
    }

    /// Whether the request ended in an error (30 to 35).
    pub fn is_error(self) -> bool {
        self.code() >= 30
    }
}

/// What a responder did with one link its traversal loaded (`meta` action).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkAction {
    /// `"p"`: the block was present and followed (it is in this message unless
    /// it was sent before or the requester said it has it).
    Present,
    /// `"d"`: the block was present but not sent (a duplicate).
    DuplicateNotSent,
    /// `"m"`: the responder lacks the block and skipped its subtree.
    Missing,
    /// `"s"`: the subtree was already traversed in this request and skipped.
    DuplicateDagSkipped,
}

impl LinkAction {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Present => "p",
            LinkAction::DuplicateNotSent => "d",
            LinkAction::Missing => "m",
            LinkAction::DuplicateDagSkipped => "s",
        }
    }

    /// The action with this wire string, if there is one.
    pub fn from_wire(s: &str) -> Option<LinkAction> {
        match s {
            "p" => Some(LinkAction::Present),
            "d" => Some(LinkAction::DuplicateNotSent),
            "m" => Some(LinkAction::Missing),
            "s" => Some(LinkAction::DuplicateDagSkipped),
            _ => None,
        }
    }

    /// Whether the responder loaded the block and continued below it.
    pub fn followed(self) -> bool {
        matches!(self, LinkAction::Present | LinkAction::DuplicateNotSent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_classify() {
        let codes: Vec<u8> = Status::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(
            codes,
            [10, 11, 12, 13, 14, 15, 20, 21, 30, 31, 32, 33, 34, 35]
        );
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code().into()), Some(s));
            assert_eq!(s.is_terminal(), s.is_success() || s.is_error());
        }
        for bad in [0, 9, 16, 19, 22, 29, 36, -20, i128::MAX] {
            assert_eq!(Status::from_code(bad), None);
        }
        for a in ["p", "d", "m", "s"] {
            assert_eq!(LinkAction::from_wire(a).map(LinkAction::as_str), Some(a));
        }
        assert_eq!(LinkAction::from_wire("P"), None);
    }
}
