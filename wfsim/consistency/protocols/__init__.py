"""The replication protocols, one per :class:`~wfsim.model.enums.ConsistencyLevel`."""
