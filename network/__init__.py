"""The delivery network: branches (网点) with their areas and pickup points (代收点), and the
tariff table (运费). Domain code: SQL, no HTTP."""
