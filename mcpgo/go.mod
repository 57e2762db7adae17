module github.com/mcpsession/mcpsession/mcpgo

go 1.26

require github.com/mcpsession/mcpsession v0.0.0-00010101000000-000000000000

replace github.com/mcpsession/mcpsession => ../
