"""nianbao orchestration: CLI (flows.cli), Prefect flow (flows.pipeline) and the pure logic it calls."""
