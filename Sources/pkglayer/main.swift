print("pkglayer")
