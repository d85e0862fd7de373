"""Operations tooling: the `netsterk` CLI, the service runner, the demo seed, the mail sink."""
