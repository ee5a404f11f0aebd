"""Where each event comes from and goes, read from the services' source (ast, no
import): the functions that emit it (`tx.emit(<Contract>, ...)`) and, for each
consumer, its `@event_handler` method and the actions function that method calls.
The event catalog (event_catalog.py) prints both, so the flow of an event is read
in one place."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
CONTRACT_MODULES = ("billing", "certificate", "enrollment", "exam", "identity", "learning")


@dataclass(frozen=True)
class Emitter:
    module: str     # services.billing.actions.payments
    function: str   # pay (Class.method inside a class)
    via: tuple[str, ...] = ()  # for a private helper: the module's public functions reaching it

    def __str__(self) -> str:
        name = f"{self.module.removeprefix('services.')}.{self.function}"
        return f"{name} (from {', '.join(self.via)})" if self.via else name


@dataclass(frozen=True)
class Handler:
    service: str    # learning
    method: str     # open_accounts
    calls: tuple[str, ...]  # ("actions.open_accounts",): the service package's functions it calls

    def __str__(self) -> str:
        target = ", ".join(f"{self.service}.{c}" for c in self.calls) or "(in the handler itself)"
        return f"{self.service}.{self.method} → {target}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class _Imports:
    """What a module's names stand for: contract modules, contract classes, and the
    service package's own modules and functions."""

    def __init__(self, tree: ast.Module, module: str, package: str):
        self.contract_modules: dict[str, str] = {}        # alias -> "billing"
        self.contract_names: dict[str, tuple[str, str]] = {}  # alias -> ("billing", "Paid")
        self.local: dict[str, str] = {}  # alias -> dotted name inside the service package
        self.package = package
        here = module.rsplit(".", 1)[0]  # the package its relative imports start from
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")
                    base = base[:len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    name = alias.asname or alias.name
                    if source == "shared.contracts" and alias.name in CONTRACT_MODULES:
                        self.contract_modules[name] = alias.name
                    elif source.startswith("shared.contracts.") and source.split(".")[2] in CONTRACT_MODULES:
                        self.contract_names[name] = (source.split(".")[2], alias.name)
                    elif source.startswith(package):
                        self.local[name] = f"{source}.{alias.name}".removeprefix(package + ".")

    def contract(self, node) -> tuple[str, str] | None:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in self.contract_modules:
            return self.contract_modules[node.value.id], node.attr
        if isinstance(node, ast.Name) and node.id in self.contract_names:
            return self.contract_names[node.id]
        return None


def _parse(path: Path):
    module = _module_name(path)
    package = ".".join(module.split(".")[:2])
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return module, tree, _Imports(tree, module + (".__init__" if path.name == "__init__.py" else ""), package)


def _functions(tree: ast.Module):
    """(qualified name, node) of every top-level function and method."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{item.name}", item


@lru_cache(maxsize=1)
def emitters() -> dict[tuple[str, str], tuple[Emitter, ...]]:
    """(contract module, class name) -> the functions that emit it."""
    found: dict[tuple[str, str], set[Emitter]] = {}
    for path in sorted(SERVICES.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module, tree, imports = _parse(path)
        functions = dict(_functions(tree))
        for name, fn in functions.items():
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr == "emit" and node.args:
                    key = imports.contract(node.args[0])
                    if key:
                        via = _public_callers(functions, name) if name.startswith("_") else ()
                        found.setdefault(key, set()).add(Emitter(module, name, via))
    return {k: tuple(sorted(v, key=str)) for k, v in found.items()}


def _public_callers(functions: dict, private: str) -> tuple[str, ...]:
    """The module's public functions that call `private`, directly or through other
    private ones."""
    calls = {name: {n.func.id for n in ast.walk(fn)
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
             for name, fn in functions.items()}
    reached, todo, public = {private}, [private], set()
    while todo:
        callee = todo.pop()
        for name, called in calls.items():
            if callee in called and name not in reached:
                reached.add(name)
                (todo.append(name) if name.startswith("_") else public.add(name))
    return tuple(sorted(public))


@lru_cache(maxsize=1)
def handlers() -> dict[tuple[str, str], tuple[Handler, ...]]:
    """(contract module, class name) -> each consumer's handler and what it calls."""
    found: dict[tuple[str, str], list[Handler]] = {}
    for path in sorted(SERVICES.glob("*/service.py")):
        service = path.parent.name
        _, tree, imports = _parse(path)
        for _, fn in _functions(tree):
            for decorator in fn.decorator_list:
                if not isinstance(decorator, ast.Call) \
                        or getattr(decorator.func, "id", "") != "event_handler":
                    continue
                key = imports.contract(decorator.args[0])
                if key:
                    found.setdefault(key, []).append(Handler(service, fn.name, _calls(fn, imports)))
    return {k: tuple(sorted(v, key=str)) for k, v in found.items()}


def _calls(fn, imports: _Imports) -> tuple[str, ...]:
    """The service package's functions a handler calls: `actions.open_accounts(...)`
    or `open_accounts(...)` imported from one of its modules."""
    calls = []
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in imports.local:
            calls.append(f"{imports.local[f.value.id]}.{f.attr}")
        elif isinstance(f, ast.Name) and f.id in imports.local:
            calls.append(imports.local[f.id])
    return tuple(dict.fromkeys(_defined_in(fn_path, imports.package) for fn_path in calls))


def _defined_in(dotted: str, package: str) -> str:
    """`actions.open_orders` as `actions.orders.open_orders` when `actions` is a
    package that imports it from one of its modules."""
    head, _, name = dotted.rpartition(".")
    init = ROOT.joinpath(*package.split("."), *head.split("."), "__init__.py")
    if head and init.exists():
        _, _, imports = _parse(init)
        if name in imports.local:
            return imports.local[name]
    return dotted


def of(contract) -> tuple[tuple[Emitter, ...], tuple[Handler, ...]]:
    """The emitters and the handlers of a registered contract."""
    key = (contract.schema_cls.__module__.rsplit(".", 1)[-1], contract.schema_cls.__name__)
    return emitters().get(key, ()), handlers().get(key, ())
