module shoplogin

go 1.26
