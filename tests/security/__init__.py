"""Security: least privilege and supply chain, secrets kept out of logs, tampering with the watcher heard."""
