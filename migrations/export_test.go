package migrations

// TableName is the goose version table, for the tests.
const TableName = tableName
