"""CRM usage telemetry: parsing event batches (``ingest``), storing them (``services``), the API (``api``)."""
