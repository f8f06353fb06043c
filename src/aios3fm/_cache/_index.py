"""DirectoryIndex: which cached keys live in which directory, per bucket.

Each directory prefix that has anything cached at or below it has a node naming the keys
stored directly in it (fact keys and listing prefixes alike) and its child directories
that have nodes. Finding everything under a prefix walks only those nodes, so it costs
what it finds plus the prefix's depth, never the number of keys cached elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DirectoryIndex", "parent_dir"]


def parent_dir(key: str) -> str:
    """The directory holding ``key``: ``"a/b/c"`` and ``"a/b/c/"`` give ``"a/b/"``;
    a top-level key (and the root ``""``) gives ``""``."""
    trimmed = key[:-1] if key.endswith("/") else key
    cut = trimmed.rfind("/")
    return trimmed[: cut + 1] if cut >= 0 else ""


@dataclass(slots=True)
class _Node:
    members: set[str] = field(default_factory=set)
    children: set[str] = field(default_factory=set)


class DirectoryIndex:
    def __init__(self) -> None:
        self._buckets: dict[str, dict[str, _Node]] = {}

    def add(self, bucket: str, key: str) -> None:
        """Record ``key`` in its directory (the root listing ``""`` sits in the root node)."""
        nodes = self._buckets.setdefault(bucket, {})
        directory = parent_dir(key)
        node = nodes.get(directory)
        if node is None:
            node = nodes[directory] = _Node()
            self._link_up(nodes, directory)
        node.members.add(key)

    def _link_up(self, nodes: dict[str, _Node], directory: str) -> None:
        while directory:
            parent = parent_dir(directory)
            existing = nodes.get(parent)
            if existing is not None:
                existing.children.add(directory)
                return
            nodes[parent] = _Node(children={directory})
            directory = parent

    def discard(self, bucket: str, key: str) -> None:
        """Forget ``key``; nodes left empty go too, upwards, so the index never outgrows
        what is stored."""
        nodes = self._buckets.get(bucket)
        if nodes is None:
            return
        directory = parent_dir(key)
        node = nodes.get(directory)
        if node is not None:
            node.members.discard(key)
        while node is not None and not node.members and not node.children:
            del nodes[directory]
            if not directory:
                break
            parent = parent_dir(directory)
            node = nodes.get(parent)
            if node is not None:
                node.children.discard(directory)
            directory = parent
        if not nodes:
            del self._buckets[bucket]

    def under(self, bucket: str, prefix: str) -> list[str]:
        """Every key recorded whose name starts with ``prefix``, ``prefix`` itself included.

        For a directory prefix (``""`` or ending in ``/``) that is its subtree; otherwise
        the matching names of its directory and the subtrees of matching sub-directories.
        """
        nodes = self._buckets.get(bucket)
        if nodes is None:
            return []
        if prefix and not prefix.endswith("/"):
            node = nodes.get(parent_dir(prefix))
            if node is None:
                return []
            matches = {m for m in node.members if m.startswith(prefix)}
            for child in node.children:
                if child.startswith(prefix):
                    matches.update(self.under(bucket, child))
            return list(matches)
        found: list[str] = []
        stack = [prefix]
        while stack:
            node = nodes.get(stack.pop())
            if node is not None:
                found.extend(node.members)
                stack.extend(node.children)
        parent = nodes.get(parent_dir(prefix))
        if prefix and parent is not None and prefix in parent.members:
            found.append(prefix)
        return found

    def check(self, stored: set[tuple[str, str]]) -> None:
        """Assert the index names exactly the ``(bucket, key)`` pairs in ``stored``."""
        recorded = set()
        for bucket, nodes in self._buckets.items():
            assert nodes, bucket
            for directory, node in nodes.items():
                assert node.members or node.children, (bucket, directory)
                for member in node.members:
                    assert parent_dir(member) == directory, member
                    recorded.add((bucket, member))
                for child in node.children:
                    assert child in nodes, child
                    assert parent_dir(child) == directory, child
        assert recorded == stored, recorded ^ stored
