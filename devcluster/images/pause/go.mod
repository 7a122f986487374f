module dlws.local/pause

go 1.26
