"""The agent's access to the ERP database: SQL mapping files, database sources, the demo ERP."""
