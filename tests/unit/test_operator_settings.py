"""Every setting the operator's commands read is documented in the README (the
repository stands alone: a reader should not need the module's source)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_of_the_operator_commands_is_in_the_readme():
    source = (ROOT / "shared/ops/operator.py").read_text()
    read = set(re.findall(r'env(?:\.get\(|\[)"([A-Z_]+)"', source))
    assert {"AMQP_URI", "RABBIT_API", "OPERATOR_TOKEN", "GATEWAY_URL"} <= read
    readme = (ROOT / "README.md").read_text()
    assert [name for name in sorted(read) if f"`{name}`" not in readme] == []
    gateway = (ROOT / "shared/ops/gateway.py").read_text() + (ROOT / "shared/ops/local.py").read_text()
    for name in set(re.findall(r'env\.get\("(GATEWAY_[A-Z_]+)"', gateway)):
        assert f"`{name}`" in readme, name
