//! What the daemon's tasks share, below every one of them: the change stream the engine
//! task writes and the page, the API and picket's MQTT topics read.

pub mod changes;
