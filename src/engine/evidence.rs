//! Evidence in the hash chain: each alarm clip or snapshot written, and each one retention
//! deletes, becomes a status event naming the file and its SHA-256. The `evidence` table
//! says where the files are; these events make their fingerprints part of the history
//! that `picket verify-journal` checks, so a clip altered afterwards is found out.

use super::{About, Clock, Engine, EventKind, EvidenceKind, EvidenceNote, Qualifier, Step};

/// The event's `source_ref` for a file with this SHA-256: how a file is found in the chain.
pub fn source_ref(sha256: &str) -> String {
    format!("sha256:{sha256}")
}

impl<C: Clock> Engine<C> {
    /// Records that an evidence file was written or deleted.
    pub(super) fn evidence(&mut self, step: &mut Step, note: &EvidenceNote) {
        let (what_vi, what_en) = match note.kind {
            EvidenceKind::Clip => ("đoạn phim", "clip"),
            EvidenceKind::Snapshot => ("ảnh chụp", "snapshot"),
        };
        let (camera, alarm, file, sha) = (&note.camera, note.alarm, &note.file, &note.sha256);
        let (kind, text) = match &note.deleted {
            None => (
                EventKind::EvidenceRecorded,
                (
                    format!(
                        "Đã lưu {what_vi} bằng chứng từ camera {camera} cho báo động #{alarm}: \
                         {file}, {} byte, SHA-256 {sha}",
                        note.bytes
                    ),
                    format!(
                        "Evidence {what_en} from camera {camera} saved for alarm #{alarm}: \
                         {file}, {} bytes, SHA-256 {sha}",
                        note.bytes
                    ),
                ),
            ),
            Some((why_vi, why_en)) => (
                EventKind::EvidenceDeleted,
                (
                    format!(
                        "Đã xóa {what_vi} bằng chứng từ camera {camera} của báo động #{alarm} \
                         ({file}, SHA-256 {sha}): {why_vi}"
                    ),
                    format!(
                        "Evidence {what_en} from camera {camera} for alarm #{alarm} deleted \
                         ({file}, SHA-256 {sha}): {why_en}"
                    ),
                ),
            ),
        };
        self.event(
            step,
            kind,
            None,
            Qualifier::Status,
            About {
                alarm: Some(alarm),
                ..About::default()
            },
            text,
        );
    }
}
