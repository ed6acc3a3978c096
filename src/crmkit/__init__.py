"""crmkit: CRM domain logic done properly once."""
