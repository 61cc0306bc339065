//! Delivery channels: how alarms leave the gateway. The escalation work adds the outbox
//! workers; this module so far holds the SIA DC-09 codec the alarm-receiving-centre
//! channel will speak.

pub mod sia;
