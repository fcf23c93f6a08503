//! Host fixture: a [`cloudnic_common::Platform`] over the device models.
