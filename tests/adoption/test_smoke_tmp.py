def test_login_page_renders(client):
    assert client.get("/login").status_code == 200

def test_login_as_manager(login_as, client):
    login_as("manager")
    r = client.get("/")
    assert r.status_code == 200 and b"Active employees" in r.data
