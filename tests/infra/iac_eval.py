"""Both flavours evaluated for given inputs: what exists and with which values.

``iac_model`` reduces every conditional value to what it can be; this module picks one branch,
as CloudFormation and Terraform would for a set of parameters or variables. A CloudFormation
template is resolved under its Conditions (``Fn::If``, ``AWS::NoValue``, a resource's
``Condition``, the Rules); a Terraform expression is parsed and evaluated (a small subset of
HCL: the operators, conditionals, literals and functions this module uses). Resources, data
sources and pseudo parameters become the shared symbols of ``iac_model``; an attribute of a
resource that does not exist raises, as it would fail the deployment. Anything not understood
raises ``Unknown``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iac_model import CFN_ATTRIBUTES, PARAMETERS, PSEUDO, TF_REFERENCES, Module, Unknown

NO_VALUE = object()  # CloudFormation's AWS::NoValue: the property or item is left out


class Missing(ValueError):
    """An attribute of a resource that is not created (the deployment would fail)."""


# ---------------------------------------------------------------------------- CloudFormation


@dataclass
class CfnStack:
    """The template resolved for one set of parameter values (strings, as CloudFormation has
    them; every parameter not given takes its default)."""

    template: dict[str, Any]
    given: Mapping[str, str]
    conditions: dict[str, bool] = field(init=False)

    def __post_init__(self) -> None:
        unknown = set(self.given) - set(self.template["Parameters"])
        if unknown:
            raise Unknown(f"no such parameters: {sorted(unknown)}")
        self.conditions = {}
        for name in self.template.get("Conditions", {}):
            self.condition(name)

    def parameter(self, name: str) -> str:
        if name in self.given:
            return self.given[name]
        return str(self.template["Parameters"][name].get("Default", ""))

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = self._truth(self.template["Conditions"][name])
        return self.conditions[name]

    def _truth(self, node: Any) -> bool:
        ((key, arg),) = node.items()
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Equals":
            left, right = (self.resolve(v) for v in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(v) for v in arg)
        if key == "Fn::Or":
            return any(self._truth(v) for v in arg)
        raise Unknown(f"condition function {key}")

    def failed_rules(self) -> list[str]:
        """The Rules whose assertions fail (CloudFormation refuses the stack)."""
        failed = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self._truth(rule["RuleCondition"]):
                continue
            if not all(self._truth(a["Assert"]) for a in rule["Assertions"]):
                failed.append(name)
        return failed

    def created(self) -> set[str]:
        return {
            logical_id
            for logical_id, resource in self.template["Resources"].items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }

    def properties(self, logical_id: str) -> Any:
        if logical_id not in self.created():
            raise Missing(logical_id)
        return self.resolve(self.template["Resources"][logical_id].get("Properties", {}))

    def outputs(self) -> dict[str, Any]:
        return {
            name: self.resolve(output["Value"])
            for name, output in self.template.get("Outputs", {}).items()
            if "Condition" not in output or self.condition(output["Condition"])
        }

    def resolve(self, value: Any) -> Any:
        """The value with every function applied; NO_VALUE where AWS::NoValue is."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                return self._attribute(arg[0], arg[1])
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.resolve(arg[1]))
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
            if key == "Fn::FindInMap":
                mapping, top, second = (self.resolve(v) for v in arg)
                return self.template["Mappings"][mapping][str(top)][second]
            if key.startswith("Fn::") or key == "Condition":
                raise Unknown(f"CloudFormation function {key}")
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.template["Parameters"]:
            return self.parameter(name)
        return self._attribute(name, "Ref")

    def _attribute(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.created():
            raise Missing(f"{logical_id}.{attribute}: the resource is not created")
        if (logical_id, attribute) not in CFN_ATTRIBUTES:
            raise Unknown(f"no shared symbol for {logical_id}.{attribute}")
        return CFN_ATTRIBUTES[(logical_id, attribute)]

    def _sub(self, arg: Any) -> str:
        text, names = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        values = {k: self.resolve(v) for k, v in names.items()}

        def name(match: re.Match[str]) -> str:
            found = match.group(1)
            if found in values:
                return str(values[found])
            if "." in found:
                return self._attribute(*found.split(".", 1))
            return str(self._ref(found))

        return re.sub(r"\$\{([^}!]+)\}", name, text).replace("${!", "${")


# ---------------------------------------------------------------------------- Terraform

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<op>=>|==|!=|>=|<=|&&|\|\||[-+*/%<>!?:(),\[\]{}=.])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.X,
)
_BINARY = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise Unknown(f"cannot read the expression at: {text[position:]!r}")
        tokens.append(match.group(match.lastgroup or ""))
        position = match.end()
    return tokens


class _Parser:
    """Expression → nested tuples: ("lit", v), ("ref", "var.x"), ("op", op, a, b),
    ("not", a), ("neg", a), ("cond", c, a, b), ("call", name, args), ("list", items),
    ("index", a, i), ("attr", a, name)."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0

    def parse(self) -> Any:
        node = self.conditional()
        if self.position != len(self.tokens):
            raise Unknown(f"unread tokens {self.tokens[self.position :]}")
        return node

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise Unknown(f"expected {expected!r}, found {token!r}")
        self.position += 1
        return token

    def conditional(self) -> Any:
        node = self.binary(1)
        if self.peek() == "?":
            self.take("?")
            yes = self.conditional()
            self.take(":")
            no = self.conditional()
            return ("cond", node, yes, no)
        return node

    def binary(self, level: int) -> Any:
        node = self.unary()
        while (token := self.peek()) in _BINARY and _BINARY[str(token)] >= level:
            op = self.take()
            node = ("op", op, node, self.binary(_BINARY[op] + 1))
        return node

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return ("not", self.unary())
        if self.peek() == "-":
            self.take()
            return ("neg", self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: Any) -> Any:
        while self.peek() in (".", "["):
            if self.take() == ".":
                node = ("attr", node, self.take())
            else:
                node = ("index", node, self.conditional())
                self.take("]")
        return node

    def for_object(self) -> Any:
        """``{for k, v in items : key => value if condition}`` (after its ``{``)."""
        self.take("for")
        names = [self.take()]
        if self.peek() == ",":
            self.take(",")
            names.append(self.take())
        self.take("in")
        items = self.conditional()
        self.take(":")
        key = self.conditional()
        self.take("=>")
        value = self.conditional()
        condition = None
        if self.peek() == "if":
            self.take("if")
            condition = self.conditional()
        self.take("}")
        return ("for", names, items, key, value, condition)

    def primary(self) -> Any:
        token = self.take()
        if token == "(":
            node = self.conditional()
            self.take(")")
            return node
        if token == "{" and self.peek() == "for":
            return self.for_object()
        if token == "[":
            items = []
            while self.peek() != "]":
                items.append(self.conditional())
                if self.peek() == ",":
                    self.take(",")
            self.take("]")
            return ("list", items)
        if token[0].isdigit():
            return ("lit", float(token) if "." in token else int(token))
        if token.startswith('"'):
            return ("template", bytes(token[1:-1], "utf-8").decode("unicode_escape"))
        if token in ("true", "false"):
            return ("lit", token == "true")
        if token == "null":
            return ("lit", None)
        if self.peek() == "(":
            self.take("(")
            args = []
            while self.peek() != ")":
                args.append(self.conditional())
                if self.peek() == ",":
                    self.take(",")
            self.take(")")
            return ("call", token, args)
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
            return ("ref", token)
        raise Unknown(f"unexpected {token!r}")


def _tostring(value: Any) -> str:
    """Terraform's text of a value: whole numbers without a fraction, true and false."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_FUNCTIONS: dict[str, Any] = {
    "length": len,
    "lower": str.lower,
    "tostring": _tostring,
    "floor": math.floor,
    "merge": lambda *maps: {k: v for m in maps for k, v in m.items()},
    "join": lambda sep, items: sep.join(items),
    "replace": lambda text, old, new: text.replace(old, new),
    "slice": lambda items, start, end: items[start:end],
    "index": lambda items, value: items.index(value),
}


@dataclass
class TfModule:
    """The module evaluated for one set of variable values (every other variable takes its
    default; ``null`` is None)."""

    module: Module
    given: Mapping[str, Any]
    _locals: dict[str, Any] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        unknown = set(self.given) - set(self.module.variables)
        if unknown:
            raise Unknown(f"no such variables: {sorted(unknown)}")

    def variable(self, name: str) -> Any:
        if name in self.given:
            return self.given[name]
        return self.module.variables[name].get("default")

    def every_local(self) -> dict[str, Any]:
        """Every local value: Terraform evaluates them all, used or not, and a plan fails on
        any that cannot be evaluated (an index into a resource that is not created)."""
        return {name: self.local(name) for name in self.module.locals}

    def local(self, name: str) -> Any:
        if name not in self._locals:
            self._locals[name] = self.value(self.module.locals[name])
        return self._locals[name]

    def _block(self, address: str) -> dict[str, Any]:
        """A resource block, or a data source's (``data.<type>.<name>``)."""
        if address.startswith("data."):
            block = self.module.data.get(address.removeprefix("data."))
        else:
            block = self.module.resources.get(address)
        if block is None:
            raise Unknown(f"no {address}")
        return block

    def count(self, address: str) -> int:
        block = self._block(address)
        return int(self.value(block["count"])) if "count" in block else 1

    def created(self) -> set[str]:
        return {a for a in self.module.resources if self.count(a) > 0}

    def body(self, address: str) -> dict[str, Any]:
        """A resource's or data source's block as written (it must exist)."""
        if self.count(address) == 0:
            raise Missing(address)
        return self._block(address)

    def attributes(self, address: str, *names: str) -> dict[str, Any]:
        """Some of a resource's arguments, evaluated (nested dynamic blocks as written)."""
        body = self.body(address)
        return {name: self.value(body[name]) for name in names if name in body}

    def dynamic(self, body: Mapping[str, Any], block: str) -> list[dict[str, Any]]:
        """The blocks a ``dynamic`` block makes: its content once per item of its for_each, the
        iterator (``<block>.value``) bound to the item."""
        made = []
        for dynamic in body.get("dynamic", []):
            if block not in dynamic:
                continue
            (content,) = dynamic[block]["content"]
            for item in self.value(dynamic[block]["for_each"]):
                made.append(self.value(content, {f"{block}.value": item}))
        return made

    def failed_preconditions(self) -> list[str]:
        failed = []
        for address, body in self.module.resources.items():
            for lifecycle in body.get("lifecycle", []):
                for check in lifecycle.get("precondition", []):
                    if not self.value(check["condition"]):
                        failed.append(f"{address}: {check['error_message']}")
        return failed

    # ------------------------------------------------------------------------ values

    def value(self, value: Any, scope: Mapping[str, Any] | None = None) -> Any:
        scope = scope or {}
        if isinstance(value, list):
            return [self.value(v, scope) for v in value]
        if isinstance(value, dict):
            # Dynamic blocks are made by ``dynamic``, with their iterator bound.
            return {k: v if k == "dynamic" else self.value(v, scope) for k, v in value.items()}
        if not isinstance(value, str):
            return value
        if value.startswith("<<-"):
            from iac_model import heredoc

            value = heredoc(value)
        whole = re.fullmatch(r"\$\{(.*)\}", value, re.S)
        if whole and "${" not in whole.group(1):
            return self.expression(whole.group(1), scope)
        return self._template(value, scope)

    def _template(self, text: str, scope: Mapping[str, Any]) -> str:
        def part(match: re.Match[str]) -> str:
            result = self.expression(match.group(1), scope)
            if result is None:
                raise Missing(f"null in a string template: {text!r}")
            return _string(result)

        escaped = text.replace("$${", "\0")
        return re.sub(r"\$\{([^{}]*)\}", part, escaped).replace("\0", "${")

    def expression(self, text: str, scope: Mapping[str, Any] | None = None) -> Any:
        return self._evaluate(_Parser(text).parse(), scope or {})

    def _evaluate(self, node: Any, scope: Mapping[str, Any]) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "template":
            return self._template(node[1], scope)
        if kind == "list":
            return [self._evaluate(item, scope) for item in node[1]]
        if kind == "not":
            return not self._evaluate(node[1], scope)
        if kind == "neg":
            return -self._evaluate(node[1], scope)
        if kind == "cond":
            chosen = node[2] if self._evaluate(node[1], scope) else node[3]
            return self._evaluate(chosen, scope)
        if kind == "op":
            return _operate(node[1], self._evaluate(node[2], scope), self._evaluate(node[3], scope))
        if kind == "call":
            if node[1] not in _FUNCTIONS:
                raise Unknown(f"function {node[1]}")
            return _FUNCTIONS[node[1]](*(self._evaluate(a, scope) for a in node[2]))
        if kind == "for":
            _, names, items, key, value, condition = node
            made = {}
            for k, v in dict(self._evaluate(items, scope)).items():
                inner = {**scope, names[0]: k, **({names[1]: v} if len(names) > 1 else {})}
                if condition is None or self._evaluate(condition, inner):
                    made[self._evaluate(key, inner)] = self._evaluate(value, inner)
            return made
        if kind in ("ref", "attr", "index"):
            return self._reference(_path(node, self, scope), scope)
        raise Unknown(f"expression {node!r}")

    def _reference(self, path: str, scope: Mapping[str, Any]) -> Any:
        if path in scope:
            return scope[path]
        for name, value in scope.items():
            if path.startswith(name + "."):
                return value[path.removeprefix(name + ".")]
        if path.startswith("var."):
            return self.variable(path.removeprefix("var."))
        if path.startswith("local."):
            return self.local(path.removeprefix("local."))
        if path in TF_REFERENCES and not path.startswith("var."):
            resource = re.fullmatch(r"(\w+\.\w+)\[0\]\..+", path)
            if resource and self.count(resource.group(1)) == 0:
                raise Missing(f"{path}: the resource is not created")
            return TF_REFERENCES[path]
        raise Unknown(f"reference {path}")


def _path(node: Any, module: TfModule, scope: Mapping[str, Any]) -> str:
    if node[0] == "ref":
        return str(node[1])
    if node[0] == "attr":
        return f"{_path(node[1], module, scope)}.{node[2]}"
    if node[0] == "index":
        return f"{_path(node[1], module, scope)}[{module._evaluate(node[2], scope)}]"
    raise Unknown(f"not a reference: {node!r}")


def _string(value: Any) -> str:
    return _tostring(value)


def _operate(op: str, left: Any, right: Any) -> Any:
    if op == "||":
        return bool(left) or bool(right)
    if op == "&&":
        return bool(left) and bool(right)
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in ("<", ">", "<=", ">="):
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        return left / right
    raise Unknown(f"operator {op}")


# ---------------------------------------------------------------------------- inputs


def terraform_value(cfn_name: str, value: str, template: Mapping[str, Any], module: Module) -> Any:
    """A CloudFormation parameter's value as the Terraform variable takes it."""
    tf_type = module.variables[PARAMETERS[cfn_name]]["type"].removeprefix("${").removesuffix("}")
    if tf_type == "bool":
        return value == "true"
    if tf_type == "number":
        return int(value)
    if tf_type == "list(string)":
        return [item.strip() for item in value.split(",")] if value.strip() else []
    # "" is CloudFormation's "not set" where Terraform's default is null; elsewhere a value.
    variable = module.variables[PARAMETERS[cfn_name]]
    return None if value == "" and variable.get("default") is None else value
