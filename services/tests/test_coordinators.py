"""netsterk.coordinators: a network's coordinators' mailbox, from the bridge's workflow config."""
from netsterk.coordinators import coordinator_address
from netsterk.settings import Settings


def test_each_network_its_own_mailbox_else_the_installations(tmp_path):
    config = tmp_path / "workflow.yaml"
    config.write_text("networks:\n  mechelen:\n    coordinator_email: ' meldpunt@mechelen.example '\n"
                      "  kiel:\n    normal: {triage: 2}\n  gent:\n    coordinator_email: geen-adres\n")
    settings = Settings(workflow_config=config, coordinator_email="coordinator@netsterk.example")
    assert coordinator_address("mechelen", settings) == "meldpunt@mechelen.example"
    assert coordinator_address("kiel", settings) == "coordinator@netsterk.example"     # none configured
    assert coordinator_address("gent", settings) == "coordinator@netsterk.example"     # not an address
    assert coordinator_address(None, settings) == "coordinator@netsterk.example"


def test_an_unreadable_or_missing_file_falls_back_to_the_installations_mailbox(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("networks: [unclosed\n")
    for path in (broken, tmp_path / "missing.yaml", None):
        settings = Settings(workflow_config=path, coordinator_email="coordinator@netsterk.example")
        assert coordinator_address("mechelen", settings) == "coordinator@netsterk.example"
