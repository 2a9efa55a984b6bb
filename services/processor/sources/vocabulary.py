"""Word lists the repairs use: US states, car makes and their aliases, title noise."""

from __future__ import annotations

US_STATES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV", "new hampshire": "NH",
    "new jersey": "NJ", "new mexico": "NM", "new york": "NY", "north carolina": "NC",
    "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "district of columbia": "DC",
    "washington dc": "DC", "washington d c": "DC", "puerto rico": "PR",
}  # fmt: skip

_MAKES = (
    "AC", "Acura", "Alfa Romeo", "AMC", "Aston Martin", "Audi", "Austin-Healey", "Bentley",
    "BMW", "Bugatti", "Buick", "Cadillac", "Chevrolet", "Chrysler", "Citroen", "Datsun",
    "De Tomaso", "DeLorean", "Dodge", "Ferrari", "Fiat", "Ford", "GMC", "Honda", "Hudson",
    "International", "Jaguar", "Jeep", "Jensen", "Lamborghini", "Lancia", "Land Rover", "Lexus",
    "Lincoln", "Lotus", "Maserati", "Mazda", "McLaren", "Mercedes-Benz", "Mercury", "MG",
    "Mini", "Nash", "Nissan", "Oldsmobile", "Packard", "Plymouth", "Pontiac", "Porsche",
    "Rolls-Royce", "Saab", "Shelby", "Studebaker", "Subaru", "Sunbeam", "Toyota", "Triumph",
    "Volkswagen", "Volvo", "Willys",
)  # fmt: skip
MAKE_SPELLING: dict[str, str] = {make.lower(): make for make in _MAKES}
MAKE_ALIASES: dict[str, str] = {
    "chevy": "Chevrolet", "chev": "Chevrolet", "chevrolet motor": "Chevrolet",
    "mercedes": "Mercedes-Benz", "benz": "Mercedes-Benz", "mercedes benz": "Mercedes-Benz",
    "mb": "Mercedes-Benz", "vw": "Volkswagen", "volkswagon": "Volkswagen", "alfa": "Alfa Romeo",
    "alfa-romeo": "Alfa Romeo", "caddy": "Cadillac", "olds": "Oldsmobile", "jag": "Jaguar",
    "lambo": "Lamborghini", "aston": "Aston Martin", "rolls royce": "Rolls-Royce",
    "rolls": "Rolls-Royce", "austin healey": "Austin-Healey", "detomaso": "De Tomaso",
    "landrover": "Land Rover", "range rover": "Land Rover", "delorean": "DeLorean",
    "international harvester": "International", "ih": "International", "pontiac motor": "Pontiac",
}  # fmt: skip
# Every spelling a title may use for a make, longest first (multi-word makes before one word).
MAKE_WORDS: tuple[tuple[str, str], ...] = tuple(
    sorted(
        {**MAKE_SPELLING, **MAKE_ALIASES}.items(),
        key=lambda item: (-len(item[0].split()), -len(item[0])),
    )
)
TITLE_NOISE = (
    r"\bfor sale\b",
    r"\bno reserve\b:?",
    r"\b\d[\d,]*k?[- ]mile(?:s)?\b",
    r"\bwith \d[\d,]*k? miles\b",
    r"\breserve\b",
)

# What listings and event pages commonly write for a category, condition or event type that the
# records' enums name otherwise. Only unambiguous synonyms: "Vintage", "Mint", "Restored" or
# "Driver" could be more than one value, so they stay as they are and fail validation with the
# enum's list of values. Keys are compared as ``choice_key`` writes them.
CATEGORY_ALIASES: dict[str, str] = {
    "classic car": "classic", "classics": "classic", "muscle car": "muscle", "pony car": "muscle",
    "sports car": "sports", "sport": "sports", "sportscar": "sports", "luxury car": "luxury",
    "exotic car": "exotic", "supercar": "exotic", "antique car": "antique", "pre war": "antique",
    "prewar": "antique", "brass era": "antique", "hotrod": "hot_rod", "street rod": "hot_rod",
    "rat rod": "hot_rod", "pickup": "truck", "pickup truck": "truck", "pick up": "truck",
    "trucks": "truck",
}  # fmt: skip
CONDITION_ALIASES: dict[str, str] = {
    "concours condition": "concours", "concours quality": "concours",
    "excellent condition": "excellent", "very good condition": "very_good",
    "good condition": "good", "fair condition": "fair", "project car": "project",
    "restoration project": "project", "needs restoration": "project",
}  # fmt: skip
EVENT_TYPE_ALIASES: dict[str, str] = {
    "car show": "show", "auto show": "show", "motor show": "show", "classic car show": "show",
    "expo": "show", "exhibition": "show", "car auction": "auction",
    "auto auction": "auction", "collector car auction": "auction",
    "concours d elegance": "concours", "concours delegance": "concours", "concorso": "concours",
    "rallye": "rally", "road rally": "rally", "tour": "rally", "road tour": "rally",
    "racing": "race", "vintage racing": "race", "hill climb": "race", "track day": "race",
    "drag race": "race", "cars and coffee": "meet", "meetup": "meet", "club meet": "meet",
    "swap": "swap_meet", "swapmeet": "swap_meet", "cruise in": "cruise", "cruise night": "cruise",
}  # fmt: skip
ARTICLE_CATEGORY_ALIASES: dict[str, str] = {
    "buyer s guide": "buyers_guide", "buyers guides": "buyers_guide",
    "buying guide": "buyers_guide",
    "auction report": "auction_results", "auction recap": "auction_results",
    "auction result": "auction_results", "market report": "market_analysis",
    "market trends": "market_analysis", "event report": "event_coverage",
    "reviews": "review", "road test": "review", "restorations": "restoration",
}  # fmt: skip
COUNTRY_ALIASES: dict[str, str] = {
    "usa": "US", "u s": "US", "u s a": "US", "united states": "US",
    "united states of america": "US",
}  # fmt: skip
"""An event's country as the records write the United States (geocoded offline as such)."""
