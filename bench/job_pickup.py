async def measure(bench): return []
